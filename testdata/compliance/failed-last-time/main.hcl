patch_baseline "b" {
  operating_system = "DEBIAN"
  approval_rule {
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}
