variable "v" {
  default = "${"${"${var.v}"}"}"
}
locals {
  a = local.b
  b = local.a
}
