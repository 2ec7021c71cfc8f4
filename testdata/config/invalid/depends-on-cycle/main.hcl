patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}
patch_group "canary" {
  baseline   = patch_baseline.web
  depends_on = [patch_group.prod]
}

patch_group "prod" {
  baseline   = patch_baseline.web
  depends_on = [patch_group.canary]
}
