variable "sizes" {
  type = map(number) # the type
  default = {        # defaults
    small  = 1       # one
    medium = 10      # ten
    large  = 100     # a hundred
  }
  nullable  = false # not null
  sensitive = false

  description = "sizes" # run restarts after the blank line
}
