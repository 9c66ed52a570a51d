resource "google_pubsub_topic" "main" {
  project                    = var.project_id
  name                       = local.name
  message_retention_duration = var.pubsub.message_retention
  kms_key_name               = var.kms_key_name
  labels                     = local.labels
  # checkov:skip=CKV_GCP_83: CMEK is opt-in through var.kms_key_name: Google-managed
  # keys by default; set the key where the data's classification requires CMEK.
}

# Messages that the ingest service could not accept after max_delivery_attempts
# land here, so a bad message never blocks the subscription and is never lost.
resource "google_pubsub_topic" "dead_letter" {
  project                    = var.project_id
  name                       = "${local.name}-dead-letter"
  message_retention_duration = var.pubsub.dead_letter_retention
  kms_key_name               = var.kms_key_name
  labels                     = local.labels
  # checkov:skip=CKV_GCP_83: CMEK is opt-in through var.kms_key_name (see topic main).
}

resource "google_pubsub_subscription" "push" {
  project                    = var.project_id
  name                       = "${local.name}-ingest-push"
  topic                      = google_pubsub_topic.main.id
  ack_deadline_seconds       = var.pubsub.ack_deadline_seconds
  message_retention_duration = var.pubsub.subscription_retention
  labels                     = local.labels

  # Pub/Sub deletes subscriptions idle for 31 days by default; an empty ttl keeps
  # a quiet system's subscription alive.
  expiration_policy {
    ttl = ""
  }

  # Backoff between redeliveries of a nacked (5xx) message, instead of at once.
  retry_policy {
    minimum_backoff = var.pubsub.minimum_backoff
    maximum_backoff = var.pubsub.maximum_backoff
  }

  dead_letter_policy {
    dead_letter_topic     = google_pubsub_topic.dead_letter.id
    max_delivery_attempts = var.pubsub.max_delivery_attempts
  }

  push_config {
    push_endpoint = "${google_cloud_run_v2_service.ingest.uri}/pubsub/push"

    oidc_token {
      service_account_email = google_service_account.push.email
      audience              = local.push_audience
    }
  }

  # Dead-lettering fails silently unless the service agent may forward messages;
  # create the grants before the subscription starts delivering.
  depends_on = [
    google_pubsub_topic_iam_member.dead_letter_publisher,
    google_service_account_iam_member.push_token_creator,
    google_cloud_run_v2_service_iam_member.ingest_push_invoker,
    google_service_account_iam_member.push_deployers,
  ]
}

# Operators read dead-lettered messages from here (pull), inspect and replay them.
resource "google_pubsub_subscription" "dead_letter" {
  project                    = var.project_id
  name                       = "${local.name}-dead-letter-pull"
  topic                      = google_pubsub_topic.dead_letter.id
  ack_deadline_seconds       = 60
  message_retention_duration = var.pubsub.dead_letter_retention
  labels                     = local.labels

  expiration_policy {
    ttl = ""
  }
}
