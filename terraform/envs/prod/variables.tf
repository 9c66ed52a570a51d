variable "project_id" {
  description = "GCP project of this environment."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid GCP project id."
  }
}

variable "region" {
  description = "Region of Cloud Run and Artifact Registry."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "prefix" {
  description = "Prefix of every resource name in this environment, for example ana-dev."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,8}[a-z0-9]$", var.prefix))
    error_message = "prefix: 1-10 chars, lowercase letters, digits and dashes."
  }
}

variable "bigquery_location" {
  description = "Location of the BigQuery dataset (EU, US or a region)."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^(EU|US|[a-z]+-[a-z]+[0-9])$", var.bigquery_location))
    error_message = "bigquery_location must be EU, US or a region name."
  }
}

variable "dataset_id" {
  description = "BigQuery dataset of all systems' tables (PIPELINE_BQ_DATASET)."
  type        = string
  default     = "analytics_dataset"
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.dataset_id))
    error_message = "dataset_id may hold only letters, digits and underscores."
  }
}

variable "github_repository" {
  description = "Repository (owner/name) whose workflows may deploy this environment."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9-]+/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be owner/name."
  }
}

variable "state_bucket" {
  description = "GCS bucket holding this environment's state; must match backend.tf."
  type        = string
  nullable    = false
}

variable "image_tag" {
  description = <<-EOT
    Image tag (the commit SHA) used when a service is first created. Later rollouts
    are done by the deploy workflow; Terraform ignores image changes on services.
  EOT
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}$", var.image_tag))
    error_message = "image_tag must be a valid container image tag."
  }
}

variable "systems" {
  description = <<-EOT
    The pipelines of this environment, keyed by a short system name (1-12 lowercase
    letters or digits). table names schemas/<table>.json; every other attribute
    is optional and falls back to the pipeline module's defaults.
  EOT
  type = map(object({
    table             = string
    data_api_invokers = optional(list(string), [])
    ingest = optional(object({
      min_instances = optional(number)
      max_instances = optional(number)
      concurrency   = optional(number)
      cpu           = optional(string)
      memory        = optional(string)
      timeout_secs  = optional(number)
    }), {})
    data_api = optional(object({
      min_instances = optional(number)
      max_instances = optional(number)
      concurrency   = optional(number)
      cpu           = optional(string)
      memory        = optional(string)
      timeout_secs  = optional(number)
      ingress       = optional(string)
    }), {})
    pubsub = optional(object({
      message_retention       = optional(string)
      ack_deadline_seconds    = optional(number)
      minimum_backoff         = optional(string)
      maximum_backoff         = optional(string)
      max_delivery_attempts   = optional(number)
      dead_letter_retention   = optional(string)
      subscription_retention  = optional(string)
      push_token_creator_role = optional(bool)
    }), {})
  }))
  default  = {}
  nullable = false

  validation {
    condition     = alltrue([for k, _ in var.systems : can(regex("^[a-z][a-z0-9]{0,11}$", k))])
    error_message = "System names: 1-12 lowercase letters or digits, starting with a letter."
  }

  validation {
    condition     = length(distinct([for s in var.systems : s.table])) == length(var.systems)
    error_message = "Two systems may not share a table."
  }
}

variable "notification_channels" {
  description = "Channel ids for paging alerts (projects/P/notificationChannels/N)."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for c in var.notification_channels :
      can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))
    ])
    error_message = "Each channel must be a full notification channel id."
  }
}

variable "ticket_notification_channels" {
  description = "Notification channel ids for ticket-level (slow burn) alerts."
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for c in var.ticket_notification_channels :
      can(regex("^projects/[^/]+/notificationChannels/[^/]+$", c))
    ])
    error_message = "Each channel must be a full notification channel id."
  }
}

variable "labels" {
  description = "Labels applied by the provider to every resource that takes labels."
  type        = map(string)
  default     = {}
  nullable    = false
}
