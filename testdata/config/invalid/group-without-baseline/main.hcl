patch_group "web" {
  description = "no baseline here"
}
