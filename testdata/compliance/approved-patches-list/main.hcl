patch_baseline "b" {
  operating_system = "DEBIAN"
  approved_patches                     = ["pf-conffile", "pf-absent", "pf-out*"]
  approved_patches_enable_non_security = true
  approved_patches_compliance_level    = "LOW"
}
