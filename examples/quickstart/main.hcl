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
