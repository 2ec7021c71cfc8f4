patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
  approved_patches_compliance_level = "SEVERE"
}
