patch_baselin "web" {
  operating_system = "DEBIAN"
}
