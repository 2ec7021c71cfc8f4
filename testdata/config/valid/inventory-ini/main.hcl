ssh {
  user             = "deploy"
  port             = 2222
  identity_file    = "~/.ssh/patchform"
  known_hosts_file = "known_hosts"
  jump_host        = "bastion.example.com"
}

inventory "fleet" {
  path = "hosts.ini"
  tags = { source = "ansible" }
}

patch_baseline "base" {
  operating_system = "DEBIAN"
  approval_rule {
    patch_filter {
      key    = "PRIORITY"
      values = ["Required", "Important"]
    }
  }
}

patch_group "db" {
  baseline = patch_baseline.base
  selector {
    tags = { "group:db" = "true" }
  }
}
