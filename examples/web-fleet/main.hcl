# A realistic fleet: hosts from an Ansible inventory, a shared security baseline, and a
# canary rollout per tier, all from the modules in ../../modules.

variable "approval_delay_days" {
  type        = number
  default     = 2
  description = "Days to wait after a version first appears before installing it."
}

ssh {
  user             = "root"
  connect_timeout  = 10
  known_hosts_file = "known_hosts"
}

inventory "fleet" {
  path = "hosts.ini"
}

module "security" {
  source                 = "../../modules/security-baseline"
  name                   = "fleet-security"
  approve_after_days     = var.approval_delay_days
  extra_rejected_patches = ["linux-image-*-rt-*"]
}

module "web" {
  source          = "../../modules/canary-rollout"
  baseline        = module.security.baseline
  name_prefix     = "web-"
  schedule        = "cron(0 2 ? * TUE#2 *)"
  max_concurrency = "50%"
}

module "db" {
  source            = "../../modules/canary-rollout"
  baseline          = module.security.baseline
  name_prefix       = "db-"
  schedule          = "cron(0 3 ? * SUN *)"
  schedule_timezone = "Europe/Berlin"
  max_concurrency   = "1"
}

output "baseline" {
  value = module.security.baseline_id
}
