patch_baseline "web" {
  operating_system = ["DEBIAN"]
  approved_patches = ["a"]
}
