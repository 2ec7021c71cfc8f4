patch_baseline "security" {
  operating_system = "DEBIAN"
  approval_rule {
    compliance_level = "CRITICAL"
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}

patch_baseline "everything" {
  operating_system = "DEBIAN"
  approval_rule {
    enable_non_security = true
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}

patch_group "orphans" {
  baseline = patch_baseline.security
}

host "o1" {
  address = "10.0.0.1"
  tags    = { "Patch Group" = "orphans" }
}

host "o2" {
  address = "10.0.0.2"
  tags    = {}
}

