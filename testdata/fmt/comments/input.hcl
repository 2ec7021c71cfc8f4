# Hash comment at the top
// Slash comment at the top
/* Block comment at the top */

/*
 * Multi-line block comment,
 *   with its own   inner layout.
 */
variable "region" { # after the opening brace
    # own-line comment in a body
  type = string // trailing slash comment
      default = "eu-west-1" /* trailing block comment */
  description = /* inline before value */ "Region"
  // comment before the closing brace
}

locals {
  list = [
    "a", # first
    # own line inside a list
    "b", /* second */
  ]
  obj = {
    key = "v" # inside an object
    // own line inside an object
  }
}
# comment at the end without newline