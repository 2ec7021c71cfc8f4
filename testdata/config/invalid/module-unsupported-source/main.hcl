module "shared" {
  source = "hashicorp/consul/aws"
}
