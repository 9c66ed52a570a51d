output "dataset_id" {
  description = "Dataset id, to pass to the pipeline module."
  value       = google_bigquery_dataset.this.dataset_id
}

output "location" {
  description = "Dataset location."
  value       = google_bigquery_dataset.this.location
}
