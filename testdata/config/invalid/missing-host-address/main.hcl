host "web-1" {
  port = 22
}
