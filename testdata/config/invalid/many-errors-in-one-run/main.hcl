patch_baseline "web" {
  operating_system = "DEBIAM"
  approval_rule {
    approve_after_days = -1
    compliance_level   = "critical"
  }
}

patch_group "web" {
  baseline   = patch_baseline.web
  depends_on = [patch_group.dbb]
}

host "web-1" {
  adress = "10.0.0.1"
}
