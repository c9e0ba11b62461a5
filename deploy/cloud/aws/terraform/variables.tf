variable "region" {
  type    = string
  default = "eu-west-1"
}

variable "image_repository" {
  description = "The ECR repository the image was pushed to (…dkr.ecr.REGION.amazonaws.com/devorch)."
  type        = string
}

variable "image_tag" {
  type = string
}

variable "certificate_arn" {
  description = "ACM certificate for the HTTPS listener."
  type        = string
}

variable "api_replicas" {
  type    = number
  default = 2
}

variable "worker_replicas" {
  type    = number
  default = 2
}

variable "database_instance_class" {
  type    = string
  default = "db.t4g.medium"
}

variable "redis_node_type" {
  type    = string
  default = "cache.t4g.small"
}
