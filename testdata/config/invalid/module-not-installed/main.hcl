module "shared" {
  source = "git::https://example.com/modules.git?ref=v1"
}
