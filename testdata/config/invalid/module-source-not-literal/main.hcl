variable "path" {
  default = "./m"
}

module "shared" {
  source = var.path
}
