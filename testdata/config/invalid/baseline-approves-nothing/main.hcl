patch_baseline "web" {
  operating_system = "DEBIAN"
}
