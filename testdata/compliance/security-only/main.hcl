patch_baseline "b" {
  operating_system = "DEBIAN"
  approval_rule {
    compliance_level = "HIGH"
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}
