locals {
  bad = 1 / 0
}
host "a" {
  address = "x${local.bad}"
}
