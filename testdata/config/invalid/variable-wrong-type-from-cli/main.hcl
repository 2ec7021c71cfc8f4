variable "delay" {
  type = number
}
