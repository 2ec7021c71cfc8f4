patch_baseline "b" {
  operating_system = "DEBIAN"
  approval_rule {
    enable_non_security = true
    patch_filter {
      key    = "SECTION"
      values = ["net"]
    }
  }
}
