provider "google" {
  project = var.project_id
  region  = var.region

  # Labels every resource that takes them, so cost and ownership are traceable.
  default_labels = var.labels
}
