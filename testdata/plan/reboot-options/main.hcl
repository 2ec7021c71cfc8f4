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

patch_group "always" {
  baseline = patch_baseline.everything
}

patch_group "never" {
  baseline = patch_baseline.everything
}

maintenance_window "a" {
  schedule          = "cron(0 2 ? * SUN *)"
  schedule_timezone = "Europe/Berlin"
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.always]

  task "install" {
    operation = "Install"
    reboot = "Always"
  }
}

maintenance_window "n" {
  schedule          = "cron(0 4 ? * SAT *)"
  schedule_timezone = "Europe/Berlin"
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.never]

  task "install" {
    operation = "Install"
    reboot = "NoReboot"
  }
}

host "r1" {
  address = "10.0.0.1"
  tags    = { "Patch Group" = "always" }
}

host "r2" {
  address = "10.0.0.2"
  tags    = { "Patch Group" = "never" }
}

