resource "google_artifact_registry_repository" "this" {
  project       = var.project_id
  location      = var.region
  repository_id = "${var.prefix}-images"
  description   = "Container images of the pipeline services, tagged by commit SHA."
  format        = "DOCKER"
  kms_key_name  = var.kms_key_name
  labels        = var.labels

  # A commit SHA tag must always name the same image: rollback depends on it.
  docker_config {
    immutable_tags = true
  }

  # Keep recent images for rollback, drop the rest so storage stays bounded.
  cleanup_policy_dry_run = false
  cleanup_policies {
    id     = "keep-recent"
    action = "KEEP"
    most_recent_versions {
      keep_count = var.keep_recent_versions
    }
  }
  cleanup_policies {
    id     = "delete-old"
    action = "DELETE"
    condition {
      older_than = "${var.delete_older_than_days * 86400}s"
    }
  }
  # checkov:skip=CKV_GCP_84: CMEK is opt-in through var.kms_key_name; images hold
  # the build only, no analytics data, so Google-managed keys are the default.
}

# Cloud Run pulls with its service agent, which can read same-project
# repositories already; these are extra readers (for example another project).
resource "google_artifact_registry_repository_iam_member" "readers" {
  for_each = toset(var.readers)

  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.this.name
  role       = "roles/artifactregistry.reader"
  member     = each.value
}

resource "google_artifact_registry_repository_iam_member" "writers" {
  for_each = toset(var.writers)

  project    = var.project_id
  location   = var.region
  repository = google_artifact_registry_repository.this.name
  role       = "roles/artifactregistry.writer"
  member     = each.value
}
