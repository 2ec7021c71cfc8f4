variable "region" {
  default = "eu"
}

host "web-1" {
  address = "10.0.0.1"
  tags    = { region = var.regoin }
}
