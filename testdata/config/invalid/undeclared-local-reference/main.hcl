locals {
  env = "prod"
}

host "web-1" {
  address = "10.0.0.1"
  tags    = { env = local.evn }
}
