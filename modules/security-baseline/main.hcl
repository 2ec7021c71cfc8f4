# A patch baseline a platform team shares: security updates of the important Debian
# priorities, an optional approval delay, and a block list that never gets installed.

variable "name" {
  type        = string
  default     = "security"
  description = "Name of the baseline as shown in plans and reports."
}

variable "operating_system" {
  type        = string
  default     = "DEBIAN"
  description = "DEBIAN, UBUNTU or RASPBIAN."

  validation {
    condition     = contains(["DEBIAN", "UBUNTU", "RASPBIAN"], var.operating_system)
    error_message = "The security-baseline module supports DEBIAN, UBUNTU and RASPBIAN."
  }
}

variable "approve_after_days" {
  type        = number
  default     = 0
  description = "Days after patchform first saw a version before it is approved (0-360)."

  validation {
    condition     = var.approve_after_days >= 0 && var.approve_after_days <= 360
    error_message = "approve_after_days must be between 0 and 360."
  }
}

variable "compliance_level" {
  type    = string
  default = "HIGH"
}

variable "extra_rejected_patches" {
  type        = list(string)
  default     = []
  description = "Package names or globs never to install, on top of the module's own list."
}

locals {
  # Remote-login daemons that have no business on a patched server.
  always_rejected = ["telnetd", "rsh-server"]
}

patch_baseline "this" {
  name                    = var.name
  operating_system        = var.operating_system
  description             = "Security updates, approved ${var.approve_after_days} days after first seen"
  rejected_patches        = concat(local.always_rejected, var.extra_rejected_patches)
  rejected_patches_action = "BLOCK"

  approval_rule {
    approve_after_days = var.approve_after_days
    compliance_level   = var.compliance_level

    patch_filter {
      key    = "PRIORITY"
      values = ["Required", "Important", "Standard"]
    }
  }
}

output "baseline" {
  value       = patch_baseline.this
  description = "Reference to the baseline, for a patch_group's baseline argument."
}

output "baseline_id" {
  value = patch_baseline.this.id
}
