patch_baseline "web" {
  operating_system = "DEBIAN"
  approval_rule = {}
}
