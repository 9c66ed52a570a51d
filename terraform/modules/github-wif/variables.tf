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
  description = <<-EOT
    Project roles of the plan identity. Read-only roles only (validated): per-service
    viewers rather than the basic roles/viewer.
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for r in var.plan_roles : can(regex("(viewer|Viewer|Reviewer|reader|Reader)$", r))
    ])
    error_message = "plan_roles must be read-only roles (viewer, reviewer or reader)."
  }

  validation {
    condition     = !contains(var.plan_roles, "roles/viewer")
    error_message = "Use per-service viewer roles instead of the basic roles/viewer."
  }
}

variable "apply_roles" {
  description = <<-EOT
    Project roles of the apply identity: what terraform apply and the rollout need
    to manage the stack, never owner or editor. It may act as the runtime service
    accounts only through grants on those accounts (pipeline module, deployers).
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for r in var.apply_roles : !contains(["roles/owner", "roles/editor"], r)
    ])
    error_message = "The apply identity never gets roles/owner or roles/editor."
  }
}
