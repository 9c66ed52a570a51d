variable "project_id" {
  description = "GCP project that holds every resource of this system."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{4,28}[a-z0-9]$", var.project_id))
    error_message = "project_id must be a valid GCP project id (6-30 chars, lowercase)."
  }
}

variable "region" {
  description = "Region of the Cloud Run services, for example europe-west1."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z]+-[a-z]+[0-9]$", var.region))
    error_message = "region must look like europe-west1."
  }
}

variable "prefix" {
  description = <<-EOT
    Prefix of every resource name, usually the environment (for example ana-dev).
    At most 10 characters so that service-account ids stay within 30.
  EOT
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,8}[a-z0-9]$", var.prefix))
    error_message = "prefix: 1-10 chars, lowercase letters, digits and dashes."
  }
}

variable "name" {
  description = <<-EOT
    Short name of this system (the key of the env root's systems map). At most 12
    characters: it is part of service-account ids.
  EOT
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9]{0,11}$", var.name))
    error_message = "name: 1-12 chars, lowercase letters and digits, starting with a letter."
  }
}

variable "table" {
  description = <<-EOT
    BigQuery table id, which is also the stem of its schema file: the columns come
    from schemas/metadata.json followed by schemas/<table>.json in this repository.
  EOT
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[a-z][a-z0-9_]{0,1000}$", var.table))
    error_message = "table must be a lowercase BigQuery table id."
  }
}

variable "dataset_id" {
  description = "BigQuery dataset that holds this system's table and dead-letter table."
  type        = string
  nullable    = false

  validation {
    condition     = can(regex("^[A-Za-z0-9_]{1,1024}$", var.dataset_id))
    error_message = "dataset_id may hold only letters, digits and underscores."
  }
}

variable "images" {
  description = <<-EOT
    Container images used when the services are first created. Later revisions are
    deployed by CI (gcloud run deploy), so Terraform ignores image changes afterwards.
  EOT
  type = object({
    ingest   = string
    data_api = string
  })
  nullable = false
}

variable "ingest" {
  description = "Sizing of the ingest service. Defaults suit a few hundred messages/s."
  type = object({
    min_instances = optional(number, 1)
    max_instances = optional(number, 10)
    concurrency   = optional(number, 80)
    cpu           = optional(string, "1")
    memory        = optional(string, "512Mi")
    timeout_secs  = optional(number, 60)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      var.ingest.min_instances >= 0 &&
      var.ingest.max_instances >= max(1, var.ingest.min_instances) &&
      var.ingest.concurrency >= 1 && var.ingest.concurrency <= 1000
    )
    error_message = "ingest: 0 <= min_instances <= max_instances, 1 <= concurrency <= 1000."
  }
}

variable "data_api" {
  description = "Sizing and ingress of the data-api service."
  type = object({
    min_instances = optional(number, 0)
    max_instances = optional(number, 5)
    concurrency   = optional(number, 80)
    cpu           = optional(string, "1")
    memory        = optional(string, "512Mi")
    timeout_secs  = optional(number, 30)
    ingress       = optional(string, "INGRESS_TRAFFIC_ALL")
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      var.data_api.min_instances >= 0 &&
      var.data_api.max_instances >= max(1, var.data_api.min_instances) &&
      var.data_api.concurrency >= 1 && var.data_api.concurrency <= 1000
    )
    error_message = "data_api: 0 <= min_instances <= max_instances, 1 <= concurrency <= 1000."
  }

  validation {
    condition = contains([
      "INGRESS_TRAFFIC_ALL",
      "INGRESS_TRAFFIC_INTERNAL_ONLY",
      "INGRESS_TRAFFIC_INTERNAL_LOAD_BALANCER",
    ], var.data_api.ingress)
    error_message = "data_api.ingress must be a Cloud Run v2 ingress value."
  }
}

variable "data_api_invokers" {
  description = <<-EOT
    IAM principals allowed to call the data-api (roles/run.invoker), for example
    group:analysts@example.com. Public principals are refused.
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for m in var.data_api_invokers :
      can(regex("^(user|group|serviceAccount|domain|principal|principalSet):.+$", m))
    ])
    error_message = "Each invoker must be an IAM member such as group:x@example.com."
  }

  validation {
    condition = alltrue([
      for m in var.data_api_invokers :
      !contains(["allUsers", "allAuthenticatedUsers"], m)
    ])
    error_message = "allUsers and allAuthenticatedUsers may never invoke the data-api."
  }
}

variable "data_api_audiences" {
  description = <<-EOT
    Extra OIDC audiences the data-api accepts besides its URLs. One shared audience
    lets a caller (the deploy round trip) use one ID token for every system and
    for tagged revision URLs, which are not known before the deploy.
  EOT
  type        = list(string)
  default     = []
  nullable    = false
}

variable "pubsub" {
  description = "Delivery settings of the topic and the push subscription."
  type = object({
    message_retention       = optional(string, "604800s")
    ack_deadline_seconds    = optional(number, 60)
    minimum_backoff         = optional(string, "10s")
    maximum_backoff         = optional(string, "600s")
    max_delivery_attempts   = optional(number, 10)
    dead_letter_retention   = optional(string, "604800s")
    subscription_retention  = optional(string, "604800s")
    push_token_creator_role = optional(bool, true)
  })
  default  = {}
  nullable = false

  validation {
    condition = (
      var.pubsub.ack_deadline_seconds >= 10 && var.pubsub.ack_deadline_seconds <= 600
    )
    error_message = "pubsub.ack_deadline_seconds must be within 10..600."
  }

  validation {
    condition = (
      var.pubsub.max_delivery_attempts >= 5 && var.pubsub.max_delivery_attempts <= 100
    )
    error_message = "pubsub.max_delivery_attempts must be within 5..100 (Pub/Sub limits)."
  }

  validation {
    condition = alltrue([
      for d in [
        var.pubsub.message_retention, var.pubsub.minimum_backoff,
        var.pubsub.maximum_backoff, var.pubsub.dead_letter_retention,
        var.pubsub.subscription_retention,
      ] : can(regex("^[0-9]+s$", d))
    ])
    error_message = "pubsub durations are written in seconds, like 600s."
  }

  validation {
    # A subscription keeps messages at most 7 days (the dead-letter retention is also
    # its pull subscription's); a topic up to 31.
    condition = alltrue([
      for d in [var.pubsub.dead_letter_retention, var.pubsub.subscription_retention] :
      can(tonumber(trimsuffix(d, "s"))) && try(tonumber(trimsuffix(d, "s")) <= 604800, false)
    ])
    error_message = "pubsub.subscription_retention and dead_letter_retention are at most 604800s."
  }
}

variable "kms_key_name" {
  description = <<-EOT
    Cloud KMS key for topics and tables (CMEK). null keeps Google-managed keys. The
    Pub/Sub and BigQuery service agents need encrypter/decrypter on the key first.
  EOT
  type        = string
  default     = null
}

variable "deletion_protection" {
  description = "Protect the tables and services against terraform destroy."
  type        = bool
  default     = true
  nullable    = false
}

variable "labels" {
  description = "Labels added to every resource that takes labels."
  type        = map(string)
  default     = {}
  nullable    = false
}

variable "deployers" {
  description = <<-EOT
    IAM members that deploy revisions of the services (the CI apply identity). They
    get roles/iam.serviceAccountUser on this system's three accounts only: deploying
    a revision, or a push subscription, that runs as an account requires it.
  EOT
  type        = list(string)
  default     = []
  nullable    = false

  validation {
    condition = alltrue([
      for m in var.deployers : can(regex("^(serviceAccount|principal|principalSet):.+$", m))
    ])
    error_message = "deployers must be service accounts or workload identity principals."
  }
}
