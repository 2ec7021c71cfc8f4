patch_baseline "web" {
  approved_patches = ["openssl"]
}
