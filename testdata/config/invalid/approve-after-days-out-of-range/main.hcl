patch_baseline "web" {
  operating_system = "DEBIAN"
  approval_rule {
    approve_after_days = 400
  }
}
