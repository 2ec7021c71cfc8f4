# Canonical input must come back byte for byte.
terraform {
  required_version = ">= 1.5"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.0" # pinned
    }
  }
}

resource "aws_s3_bucket" "logs" {
  bucket        = "logs-${var.env}"
  force_destroy = false

  tags = merge(local.tags, {
    Name = "logs"
  })

  lifecycle {
    prevent_destroy = true
  }
}

output "ids" {
  value = [for b in aws_s3_bucket.all : b.id if b.id != ""]
}
