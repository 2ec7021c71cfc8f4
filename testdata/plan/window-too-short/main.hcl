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
  baseline = patch_baseline.everything
}

maintenance_window "short" {
  schedule          = "cron(0 2 ? * SUN *)"
  schedule_timezone = "Europe/Berlin"
  duration          = 2
  cutoff            = 1
  targets           = [patch_group.web]

  task "install" {
    operation = "Install"
    max_concurrency = "1"
  }
}

host "w001" {
  address = "10.0.0.1"
  tags    = { "Patch Group" = "web" }
}

host "w002" {
  address = "10.0.0.2"
  tags    = { "Patch Group" = "web" }
}

host "w003" {
  address = "10.0.0.3"
  tags    = { "Patch Group" = "web" }
}

host "w004" {
  address = "10.0.0.4"
  tags    = { "Patch Group" = "web" }
}

host "w005" {
  address = "10.0.0.5"
  tags    = { "Patch Group" = "web" }
}

host "w006" {
  address = "10.0.0.6"
  tags    = { "Patch Group" = "web" }
}

host "w007" {
  address = "10.0.0.7"
  tags    = { "Patch Group" = "web" }
}

host "w008" {
  address = "10.0.0.8"
  tags    = { "Patch Group" = "web" }
}

host "w009" {
  address = "10.0.0.9"
  tags    = { "Patch Group" = "web" }
}

host "w010" {
  address = "10.0.0.10"
  tags    = { "Patch Group" = "web" }
}

host "w011" {
  address = "10.0.0.11"
  tags    = { "Patch Group" = "web" }
}

host "w012" {
  address = "10.0.0.12"
  tags    = { "Patch Group" = "web" }
}

host "w013" {
  address = "10.0.0.13"
  tags    = { "Patch Group" = "web" }
}

host "w014" {
  address = "10.0.0.14"
  tags    = { "Patch Group" = "web" }
}

host "w015" {
  address = "10.0.0.15"
  tags    = { "Patch Group" = "web" }
}

host "w016" {
  address = "10.0.0.16"
  tags    = { "Patch Group" = "web" }
}

host "w017" {
  address = "10.0.0.17"
  tags    = { "Patch Group" = "web" }
}

host "w018" {
  address = "10.0.0.18"
  tags    = { "Patch Group" = "web" }
}

host "w019" {
  address = "10.0.0.19"
  tags    = { "Patch Group" = "web" }
}

host "w020" {
  address = "10.0.0.20"
  tags    = { "Patch Group" = "web" }
}

host "w021" {
  address = "10.0.0.21"
  tags    = { "Patch Group" = "web" }
}

host "w022" {
  address = "10.0.0.22"
  tags    = { "Patch Group" = "web" }
}

host "w023" {
  address = "10.0.0.23"
  tags    = { "Patch Group" = "web" }
}

host "w024" {
  address = "10.0.0.24"
  tags    = { "Patch Group" = "web" }
}

host "w025" {
  address = "10.0.0.25"
  tags    = { "Patch Group" = "web" }
}

host "w026" {
  address = "10.0.0.26"
  tags    = { "Patch Group" = "web" }
}

host "w027" {
  address = "10.0.0.27"
  tags    = { "Patch Group" = "web" }
}

host "w028" {
  address = "10.0.0.28"
  tags    = { "Patch Group" = "web" }
}

host "w029" {
  address = "10.0.0.29"
  tags    = { "Patch Group" = "web" }
}

host "w030" {
  address = "10.0.0.30"
  tags    = { "Patch Group" = "web" }
}

host "w031" {
  address = "10.0.0.31"
  tags    = { "Patch Group" = "web" }
}

host "w032" {
  address = "10.0.0.32"
  tags    = { "Patch Group" = "web" }
}

host "w033" {
  address = "10.0.0.33"
  tags    = { "Patch Group" = "web" }
}

host "w034" {
  address = "10.0.0.34"
  tags    = { "Patch Group" = "web" }
}

host "w035" {
  address = "10.0.0.35"
  tags    = { "Patch Group" = "web" }
}

host "w036" {
  address = "10.0.0.36"
  tags    = { "Patch Group" = "web" }
}

host "w037" {
  address = "10.0.0.37"
  tags    = { "Patch Group" = "web" }
}

host "w038" {
  address = "10.0.0.38"
  tags    = { "Patch Group" = "web" }
}

host "w039" {
  address = "10.0.0.39"
  tags    = { "Patch Group" = "web" }
}

host "w040" {
  address = "10.0.0.40"
  tags    = { "Patch Group" = "web" }
}

