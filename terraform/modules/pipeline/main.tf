# One system: topic -> push subscription -> ingest -> BigQuery table <- data-api.
# The env roots create one of these per entry of their `systems` map.

locals {
  name = "${var.prefix}-${var.name}"

  # The repository's schema files are the single source of truth for columns
  # (docs/architecture.md); the module reads them instead of restating any.
  schema_dir        = "${path.module}/../../../schemas"
  table_schema_file = "${local.schema_dir}/${var.table}.json"
  dead_letter_table = "${var.table}_dead_letter"
  pubsub_agent = join("", [
    "serviceAccount:service-${data.google_project.this.number}",
    "@gcp-sa-pubsub.iam.gserviceaccount.com",
  ])
  push_audience    = "https://${local.name}-ingest.push.${var.project_id}"
  ingest_service   = "${local.name}-ingest"
  data_api_service = "${local.name}-data-api"
  labels           = merge(var.labels, { system = var.name, managed-by = "terraform" })
  container_schema = "/schemas/${var.table}.json"
  bigquery_common_env = {
    PIPELINE_STORE      = "bigquery"
    PIPELINE_BQ_PROJECT = var.project_id
    PIPELINE_BQ_DATASET = var.dataset_id
    PIPELINE_LOG_FORMAT = "json"
    PIPELINE_SCHEMA     = local.container_schema
  }
  ingest_env = merge(local.bigquery_common_env, {
    PIPELINE_PUSH_AUTH                     = "oidc"
    PIPELINE_PUSH_AUDIENCE                 = local.push_audience
    PIPELINE_PUSH_ALLOWED_SERVICE_ACCOUNTS = google_service_account.push.email
  })
  data_api_env = local.bigquery_common_env
}

data "google_project" "this" {
  project_id = var.project_id
}

# Each service runs as its own identity so that a compromise of one cannot write
# or read more than that service needs; none uses the default compute account.
resource "google_service_account" "ingest" {
  project      = var.project_id
  account_id   = "${local.name}-ingest"
  display_name = "${local.name} ingest (Cloud Run)"
  description  = "Runs the ingest service; appends rows to ${var.table}."
}

resource "google_service_account" "data_api" {
  project      = var.project_id
  account_id   = "${local.name}-api"
  display_name = "${local.name} data-api (Cloud Run)"
  description  = "Runs the data-api service; reads ${var.table}."
}

# Pub/Sub signs the push requests' OIDC tokens as this account; ingest accepts
# tokens from it alone (PIPELINE_PUSH_ALLOWED_SERVICE_ACCOUNTS).
resource "google_service_account" "push" {
  project      = var.project_id
  account_id   = "${local.name}-push"
  display_name = "${local.name} Pub/Sub push identity"
  description  = "Identity of Pub/Sub push requests to ${local.ingest_service}."
}
