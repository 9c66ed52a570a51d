output "workload_identity_provider" {
  description = "Value for google-github-actions/auth's workload_identity_provider."
  value       = google_iam_workload_identity_pool_provider.github.name
}

output "plan_service_account" {
  description = "Email of the read-only plan identity (GitHub variable GCP_PLAN_SA)."
  value       = google_service_account.plan.email
}

output "apply_service_account" {
  description = "Email of the main-only apply identity (GitHub variable GCP_APPLY_SA)."
  value       = google_service_account.apply.email
}

output "apply_member" {
  description = "IAM member string of the apply identity, for resource-level grants."
  value       = google_service_account.apply.member
}
