resource "aws_instance" "web" {
  user_data = <<EOF
#!/bin/bash
   echo "keep   my    spacing"   
	tabs stay too
EOF
  script    = <<-EOT
        indented heredoc
          keeps relative indent
        EOT
  policies = [
    <<EOT
first
EOT
    ,
    "second",
  ]
  rendered = templatefile("x.tpl", {
    body = <<EOT
  ${var.x}
EOT
  })
  after = 1
  a     = 2
}
