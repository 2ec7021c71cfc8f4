locals {
  empty_list = []
  empty_map = {}
  inline_list = [ 1,2 , 3 ]
  inline_map = {a=1,bb="two"}
  tags = {
  Name = "web"
  Environment = "production"
  "quoted-key" = true

  Owner = "team"
  }
  nested = {
  level1 = {
  level2 = [
  "a",
  "b",
  ]
  }
  }
  list_of_maps = [
  {
  name = "a"
  port = 80
  },
  {
  name = "b"
  port = 443
  }, {
  name = "c"
  port = 8080
  },
  ]
  merged = merge(var.defaults, {
  extra = true
  })
  args = concat(
  var.one,
  var.two,
  )
}
