variable "from_default" {
  default = "default"
}

variable "from_env" {
  default = "default"
}

variable "from_auto_file" {
  default = "default"
}

variable "from_cli" {
  default = "default"
}

variable "delay" {
  type    = number
  default = 1
}

host "web-1" {
  address = "10.0.0.1"
  tags = {
    from_default   = var.from_default
    from_env       = var.from_env
    from_auto_file = var.from_auto_file
    from_cli       = var.from_cli
    delay          = var.delay * 2
  }
}
