resource "aws_instance" "web" {
  ami           = "ami-123456"
  instance_type = "t3.micro"
  monitoring    = true

  subnet_id              = var.subnet
  vpc_security_group_ids = [aws_security_group.web.id]
  # a comment line ends the run
  key_name      = "deployer"
  ebs_optimized = false
  root_block_device {
    volume_size = 20
    volume_type = "gp3"
  }
  user = "ubuntu"
  tags = {
    Name = "web"
  }
  long_attribute_name = 1
  x                   = 2
  depends_on = [
    aws_security_group.web,
  ]
  y = 3
}
