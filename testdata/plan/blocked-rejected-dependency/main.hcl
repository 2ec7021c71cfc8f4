patch_baseline "strict" {
  operating_system        = "DEBIAN"
  rejected_patches        = ["pf-newlib"]
  rejected_patches_action = "BLOCK"
  approval_rule {
    enable_non_security = true
    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}

patch_group "db" {
  baseline = patch_baseline.strict
}

maintenance_window "sunday" {
  schedule          = "cron(0 2 ? * SUN *)"
  schedule_timezone = "Europe/Berlin"
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.db]

  task "install" {
    operation = "Install"
  }
}

host "d1" {
  address = "10.0.0.1"
  tags    = { "Patch Group" = "db" }
}

