host "web-1" {
  address = "10.0.0.1"
  port    = "ssh"
}
