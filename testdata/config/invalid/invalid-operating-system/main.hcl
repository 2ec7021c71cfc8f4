patch_baseline "web" {
  operating_system = "DEBIAM"
  approved_patches = ["openssl"]
}
