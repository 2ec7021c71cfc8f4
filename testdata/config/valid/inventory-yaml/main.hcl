inventory "fleet" {
  path = "hosts.yaml"
}

patch_baseline "base" {
  operating_system = "DEBIAN"
  approved_patches = ["*"]
}

patch_group "web" {
  baseline = patch_baseline.base
}
