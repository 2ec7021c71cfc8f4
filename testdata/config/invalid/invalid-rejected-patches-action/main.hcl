patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
  rejected_patches_action = "DENY"
}
