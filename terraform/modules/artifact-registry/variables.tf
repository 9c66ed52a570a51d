variable "project_id" {
  description = "Project that holds the repository."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid GCP project id."
  }
}

variable "region" {
  description = "Location of the repository; the same region as Cloud Run keeps pulls local."
  type        = string
  nullable    = false
}

variable "prefix" {
  description = "Name prefix; the repository is called <prefix>-images."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,8}[a-z0-9]$", var.prefix))
    error_message = "prefix: 1-10 chars, lowercase letters, digits and dashes."
  }
}

variable "readers" {
  description = "IAM members given roles/artifactregistry.reader on the repository."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for m in var.readers : !contains(["allUsers", "allAuthenticatedUsers"], m)
    ])
    error_message = "The repository is never public."
  }
}

variable "writers" {
  description = "IAM members given roles/artifactregistry.writer (the CI apply identity)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for m in var.writers : !contains(["allUsers", "allAuthenticatedUsers"], m)
    ])
    error_message = "The repository is never public."
  }
}

variable "keep_recent_versions" {
  description = "Number of most recent image versions always kept (rollback targets)."
  type        = number
  default     = 20
  nullable    = false

  validation {
    condition     = var.keep_recent_versions >= 5
    error_message = "Keep at least 5 versions so that a rollback target exists."
  }
}

variable "delete_older_than_days" {
  description = "Images older than this, and not among the recent ones, are deleted."
  type        = number
  default     = 90
  nullable    = false

  validation {
    condition     = var.delete_older_than_days >= 7
    error_message = "delete_older_than_days must be at least 7."
  }
}

variable "kms_key_name" {
  description = "Cloud KMS key for the repository (CMEK); null keeps Google-managed keys."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels on the repository."
  type        = map(string)
  default     = {}
  nullable    = false
}
