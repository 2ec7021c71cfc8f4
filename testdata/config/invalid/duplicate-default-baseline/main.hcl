patch_baseline "web" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}
patch_baseline "db" {
  operating_system = "DEBIAN"
  approved_patches = ["openssl"]
}
default_patch_baseline {
  baseline = patch_baseline.web
}

default_patch_baseline {
  baseline = patch_baseline.db
}
