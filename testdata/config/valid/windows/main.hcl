# The smallest useful configuration: two Debian hosts, one baseline that approves security
# updates, one group and a nightly maintenance window.

patch_baseline "debian-security" {
  operating_system = "DEBIAN"
  description      = "Security updates of every priority, approved immediately"

  approval_rule {
    compliance_level = "CRITICAL"

    patch_filter {
      key    = "PRIORITY"
      values = ["*"]
    }
  }
}

patch_group "web" {
  baseline = patch_baseline.debian-security
}

host "web-1" {
  address = "127.10.0.1"
  tags    = { "Patch Group" = "web", role = "frontend" }
}

host "web-2" {
  address = "127.10.0.2"
  tags    = { "Patch Group" = "web", role = "frontend" }
}

maintenance_window "nightly" {
  schedule          = "cron(0 3 ? * * *)"
  schedule_timezone = "Europe/Berlin"
  duration          = 2
  cutoff            = 1
  targets           = [patch_group.web]

  task "install" {
    operation       = "Install"
    reboot          = "RebootIfNeeded"
    max_concurrency = "1"
    max_errors      = "0"
  }
}

patch_group "db" {
  baseline   = patch_baseline.debian-security
  depends_on = [patch_group.web]
}

maintenance_window "monthly" {
  schedule          = "cron(30 1 ? * TUE#2 *)"
  schedule_offset   = 2
  schedule_timezone = "America/New_York"
  duration          = 6
  cutoff            = 2
  start_date        = "2026-01-01"
  end_date          = "2027-12-31T00:00:00Z"
  targets           = [patch_group.db]

  task "install" {
    operation       = "Install"
    reboot          = "Always"
    priority        = 2
    max_concurrency = "50%"
    max_errors      = "10%"
    cutoff_behavior = "CANCEL_TASK"
    pre_hook        = "systemctl stop app"
    post_hook       = "systemctl start app"
    health_check    = "curl -fsS http://localhost/health"
    waves           = ["1", "25%", "100%"]
  }
}
