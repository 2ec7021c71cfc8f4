patch_baseline "web" {
  operating_system = "DEBIAN"
  approval_rule {
    approve_after_days = 7
    approve_until_date = "2026-12-31"
  }
}
