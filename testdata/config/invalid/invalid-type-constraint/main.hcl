variable "region" {
  type = strin
}
