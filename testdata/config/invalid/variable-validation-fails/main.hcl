variable "delay" {
  type    = number
  default = 500

  validation {
    condition     = var.delay <= 360
    error_message = "The delay cannot exceed 360 days."
  }
}
