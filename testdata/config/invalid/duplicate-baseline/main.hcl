patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}

patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}
