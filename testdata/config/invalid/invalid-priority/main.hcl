patch_baseline "web" {
  operating_system = "DEBIAN"
  approval_rule {
    patch_filter {
      key    = "PRIORITY"
      values = ["Importent"]
    }
  }
}
