# One dataset per environment holds the tables of every system; each system's
# module grants its identities access on its own tables only.
resource "google_bigquery_dataset" "this" {
  project       = var.project_id
  dataset_id    = var.dataset_id
  friendly_name = var.dataset_id
  description   = var.description
  location      = var.location
  labels        = var.labels

  # Tables are protected one by one (deletion_protection); a destroy of the
  # dataset must also never take their rows with it.
  delete_contents_on_destroy = false

  dynamic "default_encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = default_encryption_configuration.value
    }
  }

  lifecycle {
    prevent_destroy = true
  }
  # checkov:skip=CKV_GCP_81: CMEK is opt-in through var.kms_key_name (dynamic block).
}
