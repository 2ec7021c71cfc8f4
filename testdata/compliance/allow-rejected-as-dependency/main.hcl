patch_baseline "b" {
  operating_system = "DEBIAN"
  approval_rule {
    enable_non_security = true
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
  rejected_patches        = ["pf-newlib", "pf-conffile"]
}
