patch_baseline {
  operating_system = "DEBIAN"
}
