module "security" {
  source  = "./m"
  regoin  = "eu"
}
