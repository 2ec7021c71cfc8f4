host "web-1" "extra" {
  address = "10.0.0.1"
}
