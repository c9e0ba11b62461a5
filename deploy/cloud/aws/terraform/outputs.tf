output "api_url" {
  value = "https://${aws_lb.api.dns_name}"
}

output "migrate_task_definition" {
  description = "Run it once before each rollout: aws ecs run-task --task-definition <this> …"
  value       = aws_ecs_task_definition.service["migrate"].arn
}
