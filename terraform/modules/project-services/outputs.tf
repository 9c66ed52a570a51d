output "services" {
  description = "Enabled services; depend on this to order resources after the APIs."
  value       = [for s in google_project_service.this : s.service]
}
