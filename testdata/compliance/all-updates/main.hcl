patch_baseline "b" {
  operating_system = "DEBIAN"
  approval_rule {
    enable_non_security = true
    compliance_level    = "MEDIUM"
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}
