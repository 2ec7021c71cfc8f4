module "security" {
  source = "./modules/nope"
}
