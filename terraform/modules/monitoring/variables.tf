variable "project_id" {
  description = "Project of the Cloud Run services, the subscription and these resources."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be 6-30 lowercase letters, digits or hyphens."
  }
}

variable "system" {
  description = "System name: prefixes display names; the `system` label, as in Prometheus."
  type        = string
  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,29}$", var.system))
    error_message = "system must be 1-30 lowercase letters, digits or hyphens, first a letter."
  }
}

variable "ingest_service_name" {
  description = "Cloud Run service name of the ingest service (the Pub/Sub push endpoint)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", var.ingest_service_name))
    error_message = "ingest_service_name must be a Cloud Run service name."
  }
}

variable "data_api_service_name" {
  description = "Cloud Run service name of the data-api service (GET /data)."
  type        = string
  validation {
    condition     = can(regex("^[a-z]([-a-z0-9]{0,47}[a-z0-9])?$", var.data_api_service_name))
    error_message = "data_api_service_name must be a Cloud Run service name."
  }
}

variable "subscription_id" {
  description = "Pub/Sub subscription id (short name, not the full path) that pushes to ingest."
  type        = string
  validation {
    condition     = can(regex("^[a-zA-Z][-a-zA-Z0-9_.~+%]{2,254}$", var.subscription_id))
    error_message = "subscription_id must be a Pub/Sub subscription id, not a full resource path."
  }
}

variable "notification_channels" {
  description = "Notification channel ids (projects/P/notificationChannels/N) for paging alerts."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "ticket_notification_channels" {
  description = "Notification channel ids for ticket and informational alerts (slow burn)."
  type        = list(string)
  default     = []
  nullable    = false
}

variable "runbook_base_url" {
  description = "URL of docs/runbooks in the repository web UI, no trailing slash; empty: a path."
  type        = string
  default     = ""
  nullable    = false
}

variable "user_labels" {
  description = "Extra user labels for alert policies, SLOs and the service (team, cost centre)."
  type        = map(string)
  default     = {}
  nullable    = false
}
