output "systems" {
  description = "Per system: topic, table, service URLs and identities."
  value = {
    for name, p in module.pipeline : name => {
      topic_id              = p.topic_id
      dead_letter_topic_id  = p.dead_letter_topic_id
      table_id              = p.table_id
      dead_letter_table_id  = p.dead_letter_table_id
      ingest_service_name   = p.ingest_service_name
      data_api_service_name = p.data_api_service_name
      data_api_url          = p.data_api_url
      service_accounts      = p.service_accounts
    }
  }
}

output "image_base" {
  description = "Where the deploy workflow pushes images."
  value       = module.artifact_registry.image_base
}

output "workload_identity_provider" {
  description = "GitHub variable GCP_WORKLOAD_IDENTITY_PROVIDER."
  value       = module.github_wif.workload_identity_provider
}

output "plan_service_account" {
  description = "GitHub variable GCP_PLAN_SA."
  value       = module.github_wif.plan_service_account
}

output "apply_service_account" {
  description = "GitHub variable GCP_APPLY_SA."
  value       = module.github_wif.apply_service_account
}

output "region" {
  description = "Region of the Cloud Run services (the rollout script needs it)."
  value       = var.region
}

output "data_api_audience" {
  description = "OIDC audience every data-api accepts (ID tokens for the round trip)."
  value       = local.data_api_audience
}
