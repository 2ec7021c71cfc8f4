host "web-1" {
  address = upcase("web-1.example.com")
}
