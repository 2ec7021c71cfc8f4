variable "api_token" {
  type      = string
  default   = "s3cr3t-t0ken"
  sensitive = true
}

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

patch_group "web" {
  baseline = patch_baseline.security
}

maintenance_window "sunday" {
  schedule          = "cron(0 2 ? * SUN *)"
  schedule_timezone = "Europe/Berlin"
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.web]

  task "install" {
    operation = "Install"
    pre_hook  = "curl -fsS -H 'Authorization: ${var.api_token}' https://lb.example/drain"
    post_hook = "curl -fsS -H 'Authorization: ${var.api_token}' https://lb.example/undrain"
  }
}

host "s1" {
  address = "10.0.0.1"
  tags    = { "Patch Group" = "web" }
}

