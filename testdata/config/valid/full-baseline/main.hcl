# Every baseline argument, a declared default and a selector group.
patch_baseline "prod" {
  name                                 = "prod-debian"
  operating_system                     = "DEBIAN"
  description                          = "Production"
  approved_patches                     = ["openssl", "libssl3*"]
  approved_patches_compliance_level    = "HIGH"
  approved_patches_enable_non_security = true
  rejected_patches                     = ["telnetd"]
  rejected_patches_action              = "BLOCK"

  global_filter {
    key    = "PRODUCT"
    values = ["Debian12"]
  }

  approval_rule {
    approve_after_days  = 7
    compliance_level    = "CRITICAL"
    enable_non_security = false
    patch_filter {
      key    = "PRIORITY"
      values = ["Required", "Important"]
    }
    patch_filter {
      key    = "SECTION"
      values = ["net", "libs"]
    }
  }

  approval_rule {
    approve_until_date = "2026-12-31"
    compliance_level   = "LOW"
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }

  source {
    name          = "internal"
    products      = ["Debian12"]
    configuration = "deb http://mirror.internal/debian bookworm main"
  }
}

default_patch_baseline {
  baseline = patch_baseline.prod
}

patch_group "api" {
  baseline = patch_baseline.prod
  selector {
    names = ["api-*"]
    tags  = { env = "prod" }
  }
}

host "api-1" {
  address = "10.0.3.1"
  tags    = { env = "prod" }
}

host "api-2" {
  address = "10.0.3.2"
  tags    = { env = "staging" }
}
