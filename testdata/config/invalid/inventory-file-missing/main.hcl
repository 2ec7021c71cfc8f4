inventory "fleet" {
  path = "hosts.ini"
}
