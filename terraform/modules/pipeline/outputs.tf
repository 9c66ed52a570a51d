output "topic_id" {
  description = "Full id of the topic publishers write to (projects/P/topics/T)."
  value       = google_pubsub_topic.main.id
}

output "dead_letter_topic_id" {
  description = "Full id of the dead-letter topic."
  value       = google_pubsub_topic.dead_letter.id
}

output "dead_letter_subscription_id" {
  description = "Pull subscription for inspecting and replaying dead-lettered messages."
  value       = google_pubsub_subscription.dead_letter.id
}

output "push_subscription_id" {
  description = "The push subscription feeding the ingest service."
  value       = google_pubsub_subscription.push.id
}

output "push_subscription_name" {
  description = "Short name of the push subscription (monitoring filters on it)."
  value       = google_pubsub_subscription.push.name
}

output "table_id" {
  description = "Fully qualified table, project.dataset.table."
  value       = "${var.project_id}.${var.dataset_id}.${google_bigquery_table.main.table_id}"
}

output "dead_letter_table_id" {
  description = "Fully qualified dead-letter table, project.dataset.table."
  value       = "${var.project_id}.${var.dataset_id}.${google_bigquery_table.dead_letter.table_id}"
}

output "ingest_service_name" {
  description = "Cloud Run service name of ingest."
  value       = google_cloud_run_v2_service.ingest.name
}

output "data_api_service_name" {
  description = "Cloud Run service name of data-api."
  value       = google_cloud_run_v2_service.data_api.name
}

output "ingest_url" {
  description = "Base URL of the ingest service."
  value       = google_cloud_run_v2_service.ingest.uri
}

output "data_api_url" {
  description = "Base URL of the data-api service."
  value       = google_cloud_run_v2_service.data_api.uri
}

output "service_accounts" {
  description = "Emails of the identities this system runs as."
  value = {
    ingest   = google_service_account.ingest.email
    data_api = google_service_account.data_api.email
    push     = google_service_account.push.email
  }
}

output "push_audience" {
  description = "OIDC audience of push requests (PIPELINE_PUSH_AUDIENCE)."
  value       = local.push_audience
}
