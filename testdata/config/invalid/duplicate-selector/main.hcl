patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}
patch_group "web" {
  baseline = patch_baseline.web
  selector {
    names = ["web-*"]
  }
  selector {
    names = ["api-*"]
  }
}
