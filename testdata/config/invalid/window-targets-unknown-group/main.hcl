patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}
patch_group "web" {
  baseline = patch_baseline.web
}
maintenance_window "sunday" {
  schedule          = "cron(0 2 ? * SUN *)"
  schedule_timezone = "UTC"
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.db]

  task "patch" {
    operation = "Install"

  }
}
