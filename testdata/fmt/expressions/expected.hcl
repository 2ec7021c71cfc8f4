locals {
  upper     = [for s in var.list : upper(s) if s != ""]
  by_key    = { for k, v in var.map : k => v.name... }
  choice    = var.enabled ? "on" : "off"
  math      = (var.a + var.b) * -2
  not       = !var.flag
  splat     = aws_instance.web[*].id
  legacy    = aws_instance.web.*.id
  index     = var.list[0]
  call      = format("%s-%s", var.a, var.b)
  spread    = max(var.numbers...)
  ns        = provider::terraform::encode_tfvars({ a = 1 })
  template  = "${var.name}-${ var.env }"
  directive = "%{if var.x}yes%{else}no%{endif}"
  long = (
    var.a &&
    var.b ||
    var.c
  )
}
