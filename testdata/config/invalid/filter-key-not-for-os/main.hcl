patch_baseline "web" {
  operating_system = "DEBIAN"
  approval_rule {
    patch_filter {
      key    = "SEVERITY"
      values = ["Critical"]
    }
  }
}
