patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
  approved_patches_enable_non_security = "yes"
}
