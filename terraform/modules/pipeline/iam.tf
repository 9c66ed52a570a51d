# Least privilege, granted on the narrowest resource that works.

# Storage Write API appends need bigquery.tables.updateData (and tables.get for
# the stream's schema) on the target table; dataEditor on the two tables gives
# that without project-wide rights or access to other systems' tables. No job
# permission is needed: appends are not query jobs.
resource "google_bigquery_table_iam_member" "ingest_table_editor" {
  project    = var.project_id
  dataset_id = var.dataset_id
  table_id   = google_bigquery_table.main.table_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.ingest.member
}

resource "google_bigquery_table_iam_member" "ingest_dead_letter_editor" {
  project    = var.project_id
  dataset_id = var.dataset_id
  table_id   = google_bigquery_table.dead_letter.table_id
  role       = "roles/bigquery.dataEditor"
  member     = google_service_account.ingest.member
}

# The data-api reads its own table (dataViewer on the table, not the dataset)
# and runs query jobs, which are billed to and created in the project.
resource "google_bigquery_table_iam_member" "data_api_table_viewer" {
  project    = var.project_id
  dataset_id = var.dataset_id
  table_id   = google_bigquery_table.main.table_id
  role       = "roles/bigquery.dataViewer"
  member     = google_service_account.data_api.member
}

resource "google_project_iam_member" "data_api_job_user" {
  project = var.project_id
  role    = "roles/bigquery.jobUser"
  member  = google_service_account.data_api.member
}

# Only Pub/Sub's push identity may call ingest.
resource "google_cloud_run_v2_service_iam_member" "ingest_push_invoker" {
  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.ingest.name
  role     = "roles/run.invoker"
  member   = google_service_account.push.member
}

# Named readers only; the variable's validation refuses public principals.
resource "google_cloud_run_v2_service_iam_member" "data_api_invokers" {
  for_each = toset(var.data_api_invokers)

  project  = var.project_id
  location = var.region
  name     = google_cloud_run_v2_service.data_api.name
  role     = "roles/run.invoker"
  member   = each.value
}

# The Pub/Sub service agent forwards undeliverable messages to the dead-letter
# topic and acks them on the source subscription; without both grants the
# dead_letter_policy does nothing.
resource "google_pubsub_topic_iam_member" "dead_letter_publisher" {
  project = var.project_id
  topic   = google_pubsub_topic.dead_letter.name
  role    = "roles/pubsub.publisher"
  member  = local.pubsub_agent
}

resource "google_pubsub_subscription_iam_member" "push_subscriber" {
  project      = var.project_id
  subscription = google_pubsub_subscription.push.name
  role         = "roles/pubsub.subscriber"
  member       = local.pubsub_agent
}

# Projects created before 2021-04-08 need this for the agent to mint the push
# OIDC tokens; later ones have it implicitly. Scoped to the push account only.
resource "google_service_account_iam_member" "push_token_creator" {
  count = var.pubsub.push_token_creator_role ? 1 : 0

  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountTokenCreator"
  member             = local.pubsub_agent
}

# Deploying a revision that runs as an account needs actAs on that account; the
# grant sits on the runtime accounts, not on the project.
resource "google_service_account_iam_member" "ingest_deployers" {
  for_each = toset(var.deployers)

  service_account_id = google_service_account.ingest.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

resource "google_service_account_iam_member" "data_api_deployers" {
  for_each = toset(var.deployers)

  service_account_id = google_service_account.data_api.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}

# Creating a push subscription whose OIDC token is signed as the push account
# needs actAs on that account, so the deployers get it there too.
resource "google_service_account_iam_member" "push_deployers" {
  for_each = toset(var.deployers)

  service_account_id = google_service_account.push.name
  role               = "roles/iam.serviceAccountUser"
  member             = each.value
}
