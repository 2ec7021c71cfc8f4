module "outer" {
  source = "./modules/outer"
  prefix = "team-"
}

patch_group "web" {
  baseline = module.outer.baseline
}

host "web-1" {
  address = "10.0.0.1"
  tags    = { "Patch Group" = "web", baseline = module.outer.baseline_name }
}

output "baseline_id" {
  value = module.outer.baseline.id
}
