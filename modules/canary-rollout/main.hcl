# Canary before production: two patch groups on one baseline, production waiting for every
# canary host to succeed, and one weekly window that patches both.

variable "baseline" {
  description = "The baseline both groups follow: a module output or patch_baseline.x."
}

variable "name_prefix" {
  type        = string
  default     = ""
  description = "Prefix of the group names, which are also the Patch Group tag values."
}

variable "schedule" {
  type        = string
  default     = "cron(0 2 ? * SUN *)"
  description = "When the window opens (AWS cron/rate/at syntax)."
}

variable "schedule_timezone" {
  type    = string
  default = "UTC"
}

variable "max_concurrency" {
  type    = string
  default = "25%"
}

variable "max_errors" {
  type    = string
  default = "0"
}

patch_group "canary" {
  name        = "${var.name_prefix}canary"
  baseline    = var.baseline
  description = "Patched first; production waits for all of it."
}

patch_group "prod" {
  name       = "${var.name_prefix}prod"
  baseline   = var.baseline
  depends_on = [patch_group.canary]
}

maintenance_window "weekly" {
  name              = "${var.name_prefix}weekly"
  schedule          = var.schedule
  schedule_timezone = var.schedule_timezone
  duration          = 4
  cutoff            = 1
  targets           = [patch_group.canary, patch_group.prod]

  task "patch" {
    operation       = "Install"
    reboot          = "RebootIfNeeded"
    priority        = 1
    max_concurrency = var.max_concurrency
    max_errors      = var.max_errors
    cutoff_behavior = "CONTINUE_TASK"
    health_check    = "systemctl is-system-running --wait || test $? -le 1"
  }
}

output "canary_group" {
  value = patch_group.canary
}

output "prod_group" {
  value = patch_group.prod
}
