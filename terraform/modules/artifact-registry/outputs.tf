output "repository_id" {
  description = "Repository id, <prefix>-images."
  value       = google_artifact_registry_repository.this.repository_id
}

output "image_base" {
  description = "Registry path images are pushed under: REGION-docker.pkg.dev/PROJECT/REPO."
  value = join("/", [
    "${var.region}-docker.pkg.dev",
    var.project_id,
    google_artifact_registry_repository.this.repository_id,
  ])
}
