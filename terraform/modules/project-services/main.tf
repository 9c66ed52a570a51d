# Every API the stack calls is enabled here, before anything else is created.
resource "google_project_service" "this" {
  for_each = toset(var.services)

  project = var.project_id
  service = each.value

  # Disabling an API on destroy would break every other user of the project.
  disable_on_destroy         = false
  disable_dependent_services = false
}
