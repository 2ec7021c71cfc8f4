variable "region" {
  default = "us"
}
