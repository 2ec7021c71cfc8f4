locals {
  hosts_per_wave = 10 / 0
}
