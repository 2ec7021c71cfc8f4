resource "aws_security_group" "web" {
  name = "web"
  ingress {
    from_port   = 443
    to_port     = 443
    cidr_blocks = ["0.0.0.0/0"]
  }
  dynamic "egress" {
    for_each = var.egress
    content {
      from_port = egress.value.from
      to_port   = egress.value.to
    }
  }
  lifecycle {
    create_before_destroy = true
  }
}
