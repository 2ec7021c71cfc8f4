locals {
  tiers   = ["web", "api"]
  count   = length(local.tiers)
  by_tier = { for i, tier in local.tiers : tier => "10.0.${i}.1" }
  banner  = <<EOT
%{ for t in local.tiers }${upper(t)} %{ endfor }
EOT
}

patch_baseline "all" {
  operating_system = "UBUNTU"
  approved_patches = [for t in local.tiers : "${t}-*"]
  rejected_patches = local.count > 1 ? ["telnetd"] : []
}

host "web-1" {
  address = local.by_tier["web"]
  tags = {
    banner = trimspace(local.banner)
    joined = join(",", concat(local.tiers, ["db"]))
    merged = lookup(merge({ a = "1" }, { b = "2" }), "b", "none")
  }
}
