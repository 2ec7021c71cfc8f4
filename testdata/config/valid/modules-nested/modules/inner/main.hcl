variable "name" {
  type = string
}

patch_baseline "this" {
  name             = var.name
  operating_system = "DEBIAN"
  approved_patches = ["openssl", "libssl*"]
}

output "baseline" {
  value = patch_baseline.this
}

output "name" {
  value = var.name
}
