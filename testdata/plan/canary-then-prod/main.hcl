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

patch_group "canary" {
  baseline = patch_baseline.everything
  selector {
    names = ["h01", "h02"]
  }
}

patch_group "prod" {
  baseline   = patch_baseline.security
  depends_on = [patch_group.canary]
  selector {
    tags = { tier = "prod" }
  }
}

maintenance_window "sunday" {
  schedule          = "cron(0 2 ? * SUN *)"
  schedule_timezone = "Europe/Berlin"
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.canary, patch_group.prod]

  task "install" {
    operation = "Install"
    reboot          = "RebootIfNeeded"
    max_concurrency = "2"
    max_errors      = "1"
    waves           = ["1", "50%", "100%"]
    health_check    = "systemctl is-system-running"
  }
}

host "h01" {
  address = "10.0.0.1"
  tags    = { tier = "canary" }
}

host "h02" {
  address = "10.0.0.2"
  tags    = { tier = "canary" }
}

host "h03" {
  address = "10.0.0.3"
  tags    = { tier = "prod" }
}

host "h04" {
  address = "10.0.0.4"
  tags    = { tier = "prod" }
}

host "h05" {
  address = "10.0.0.5"
  tags    = { tier = "prod" }
}

host "h06" {
  address = "10.0.0.6"
  tags    = { tier = "prod" }
}

host "h07" {
  address = "10.0.0.7"
  tags    = { tier = "prod" }
}

host "h08" {
  address = "10.0.0.8"
  tags    = { tier = "prod" }
}

host "h09" {
  address = "10.0.0.9"
  tags    = { tier = "prod" }
}

host "h10" {
  address = "10.0.0.10"
  tags    = { tier = "prod" }
}

