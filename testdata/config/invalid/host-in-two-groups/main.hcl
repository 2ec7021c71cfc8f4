patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}
patch_group "web" {
  baseline = patch_baseline.web
}

patch_group "frontend" {
  baseline = patch_baseline.web
  selector {
    tags = { role = "web" }
  }
}

host "web-1" {
  address = "10.0.0.1"
  tags    = { "Patch Group" = "web", role = "web" }
}
