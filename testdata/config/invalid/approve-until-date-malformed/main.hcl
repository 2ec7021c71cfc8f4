patch_baseline "web" {
  operating_system = "DEBIAN"
  approval_rule {
    approve_until_date = "31.12.2026"
  }
}
