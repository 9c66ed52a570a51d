variable "project_id" {
  description = "Project holding the pool and the CI service accounts."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid GCP project id."
  }
}

variable "prefix" {
  description = "Name prefix of the pool (<prefix>-github) and accounts (<prefix>-ci-*)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,8}[a-z0-9]$", var.prefix))
    error_message = "prefix: 1-10 chars, lowercase letters, digits and dashes."
  }
}

variable "github_repository" {
  description = "The only repository whose workflows may authenticate, as owner/name."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "state_bucket" {
  description = "GCS bucket of the Terraform state (created once by hand, see README)."
  type        = string
  nullable    = false
}

variable "plan_roles" {
  description = "Project roles of the plan identity: read-only ones only."
  type        = list(string)
  # Per-service viewers instead of roles/viewer: enough to refresh every resource
  # of this stack and read its IAM policies, nothing else in the project.
  default = [
    "roles/artifactregistry.reader",
    "roles/bigquery.metadataViewer",
    "roles/iam.securityReviewer",
    "roles/iam.serviceAccountViewer",
    "roles/iam.workloadIdentityPoolViewer",
    "roles/monitoring.viewer",
    "roles/pubsub.viewer",
    "roles/run.viewer",
    "roles/serviceusage.serviceUsageViewer",
  ]
  nullable = false

  validation {
    condition = alltrue([
      for r in var.plan_roles : can(regex("(viewer|Viewer|Reviewer|reader|Reader)$", r))
    ])
    error_message = "plan_roles must be read-only roles (viewer, reviewer or reader)."
  }
}

variable "apply_roles" {
  description = <<-EOT
    Project roles of the apply identity: what terraform apply and the rollout need
    to manage this stack, and no owner/editor. It may act as the runtime service
    accounts only through grants on those accounts (pipeline module, deployers).
  EOT
  type        = list(string)
  default = [
    "roles/artifactregistry.admin",
    "roles/bigquery.admin",
    "roles/iam.serviceAccountAdmin",
    "roles/iam.workloadIdentityPoolAdmin",
    "roles/monitoring.editor",
    "roles/pubsub.admin",
    "roles/resourcemanager.projectIamAdmin",
    "roles/run.admin",
    "roles/serviceusage.serviceUsageAdmin",
  ]
  nullable = false

  validation {
    condition = alltrue([
      for r in var.apply_roles : !contains(["roles/owner", "roles/editor"], r)
    ])
    error_message = "The apply identity never gets roles/owner or roles/editor."
  }
}
