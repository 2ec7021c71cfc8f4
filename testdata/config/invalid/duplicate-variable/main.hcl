variable "region" {
  default = "eu"
}

variable "region" {
  default = "us"
}
