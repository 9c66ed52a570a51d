# Both services follow the same shape; CI deploys new revisions with gcloud
# (no traffic, tagged), checks them and only then moves traffic, so Terraform
# owns the configuration but not the image or the traffic split.

resource "google_cloud_run_v2_service" "ingest" {
  project             = var.project_id
  name                = local.ingest_service
  location            = var.region
  description         = "Pub/Sub push endpoint of ${local.name}; streams rows into BigQuery."
  deletion_protection = var.deletion_protection
  labels              = local.labels

  # Pub/Sub push from the same project counts as internal traffic, so nothing
  # outside Google's network can reach the endpoint at all.
  ingress = "INGRESS_TRAFFIC_INTERNAL_ONLY"

  # Push tokens carry this audience rather than the service URL: the URL is only
  # known after creation, and the service's own env must name the audience.
  custom_audiences = [local.push_audience]

  template {
    service_account                  = google_service_account.ingest.email
    max_instance_request_concurrency = var.ingest.concurrency
    timeout                          = "${var.ingest.timeout_secs}s"
    labels                           = local.labels

    scaling {
      min_instance_count = var.ingest.min_instances
      max_instance_count = var.ingest.max_instances
    }

    containers {
      name  = "ingest"
      image = var.images.ingest

      # Cloud Run sets PORT to this value; the binaries listen on PORT.
      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.ingest.cpu
          memory = var.ingest.memory
        }
        # The group-commit timer and the open Storage Write stream work between
        # requests; a throttled CPU would stall them.
        cpu_idle          = false
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.ingest_env
        content {
          name  = env.key
          value = env.value
        }
      }

      # No traffic until the store is reachable and the schema is loaded.
      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 2
        timeout_seconds       = 1
        failure_threshold     = 30
        http_get {
          path = "/readyz"
        }
      }

      liveness_probe {
        period_seconds    = 10
        timeout_seconds   = 2
        failure_threshold = 3
        http_get {
          path = "/healthz"
        }
      }
    }
  }

  # Creating the service already acts as its account.
  depends_on = [google_service_account_iam_member.ingest_deployers]

  lifecycle {
    # Revisions and traffic are rolled out by .github/workflows/deploy.yml.
    ignore_changes = [
      client,
      client_version,
      traffic,
      template[0].revision,
      template[0].containers[0].image,
    ]
  }
}

resource "google_cloud_run_v2_service" "data_api" {
  project             = var.project_id
  name                = local.data_api_service
  location            = var.region
  description         = "GET /data over ${var.dataset_id}.${var.table}."
  deletion_protection = var.deletion_protection
  labels              = local.labels
  ingress             = var.data_api.ingress
  custom_audiences    = var.data_api_audiences

  template {
    service_account                  = google_service_account.data_api.email
    max_instance_request_concurrency = var.data_api.concurrency
    timeout                          = "${var.data_api.timeout_secs}s"
    labels                           = local.labels

    scaling {
      min_instance_count = var.data_api.min_instances
      max_instance_count = var.data_api.max_instances
    }

    containers {
      name  = "data-api"
      image = var.images.data_api

      ports {
        container_port = 8080
      }

      resources {
        limits = {
          cpu    = var.data_api.cpu
          memory = var.data_api.memory
        }
        # Pure request/response: CPU may be throttled between requests.
        cpu_idle          = true
        startup_cpu_boost = true
      }

      dynamic "env" {
        for_each = local.data_api_env
        content {
          name  = env.key
          value = env.value
        }
      }

      startup_probe {
        initial_delay_seconds = 0
        period_seconds        = 2
        timeout_seconds       = 1
        failure_threshold     = 30
        http_get {
          path = "/readyz"
        }
      }

      liveness_probe {
        period_seconds    = 10
        timeout_seconds   = 2
        failure_threshold = 3
        http_get {
          path = "/healthz"
        }
      }
    }
  }

  depends_on = [google_service_account_iam_member.data_api_deployers]

  lifecycle {
    ignore_changes = [
      client,
      client_version,
      traffic,
      template[0].revision,
      template[0].containers[0].image,
    ]
  }
}
