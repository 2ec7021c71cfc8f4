variable "prefix" {
  type = string
}

module "inner" {
  source = "../inner"
  name   = "${var.prefix}inner"
}

output "baseline" {
  value = module.inner.baseline
}

output "baseline_name" {
  value = module.inner.name
}
