variable "project_id" {
  description = "Project that holds the dataset."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid GCP project id."
  }
}

variable "dataset_id" {
  description = "Dataset id; the services read it from PIPELINE_BQ_DATASET."
  type        = string
  default     = "analytics_dataset"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.dataset_id))
    error_message = "dataset_id may hold only letters, digits and underscores."
  }
}

variable "location" {
  description = "Dataset location: a multi-region (EU, US) or a region (europe-west1)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(EU|US|[a-z]+-[a-z]+[0-9])$", var.location))
    error_message = "location must be EU, US or a region name such as europe-west1."
  }
}

variable "description" {
  description = "Human-readable description of the dataset."
  type        = string
  default     = "Analytics rows ingested from Pub/Sub by the pipeline."
  nullable    = false
}

variable "kms_key_name" {
  description = "Default Cloud KMS key for new tables (CMEK); null keeps Google-managed keys."
  type        = string
  default     = null
}

variable "labels" {
  description = "Labels on the dataset."
  type        = map(string)
  default     = {}
  nullable    = false
}
