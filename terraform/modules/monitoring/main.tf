# Cloud Monitoring equivalents of monitoring/prometheus/rules.yml for one pipeline system:
# the three design alerts, the three SLOs with multi-window burn-rate alerts, and a
# dashboard. The SLIs here come from Cloud Run's and Pub/Sub's built-in metrics, which
# exist without any agent; see README.md for how they differ from the Prometheus SLIs.

locals {
  name_prefix = "[${var.system}]"
  labels      = merge(var.user_labels, { system = var.system, managed_by = "terraform" })

  runbook_base = var.runbook_base_url != "" ? var.runbook_base_url : "docs/runbooks"

  cloud_run_ingest = join(" AND ", [
    "resource.type = \"cloud_run_revision\"",
    "resource.labels.service_name = \"${var.ingest_service_name}\"",
  ])
  cloud_run_data_api = join(" AND ", [
    "resource.type = \"cloud_run_revision\"",
    "resource.labels.service_name = \"${var.data_api_service_name}\"",
  ])
  request_count = "metric.type = \"run.googleapis.com/request_count\""

  # Burn-rate thresholds and windows, as in rules.yml (Google SRE workbook, ch. 5).
  # Each entry becomes one policy per SLO whose two conditions must both hold.
  burn_rate_windows = {
    page-1h = {
      severity = "CRITICAL", page = true, rate = 14.4, long = "3600s", short = "300s"
    }
    page-6h = {
      severity = "CRITICAL", page = true, rate = 6, long = "21600s", short = "1800s"
    }
    ticket-1d = {
      severity = "WARNING", page = false, rate = 3, long = "86400s", short = "7200s"
    }
    ticket-3d = {
      severity = "WARNING", page = false, rate = 1, long = "259200s", short = "21600s"
    }
  }

  slos = {
    data-availability = {
      name    = google_monitoring_slo.data_availability.name
      runbook = "DataApiAvailabilityBudgetBurn"
    }
    data-latency = {
      name    = google_monitoring_slo.data_latency.name
      runbook = "DataApiLatencyBudgetBurn"
    }
    ingest-errors = {
      name    = google_monitoring_slo.ingest_errors.name
      runbook = "IngestErrorBudgetBurn"
    }
  }

  # Every SLO crossed with every window pair: 3 x 4 = 12 policies, keyed "<slo>/<window>".
  burn_rate_policies = {
    for pair in setproduct(keys(local.slos), keys(local.burn_rate_windows)) :
    "${pair[0]}/${pair[1]}" => merge(local.burn_rate_windows[pair[1]], local.slos[pair[0]], {
      slo    = pair[0]
      window = pair[1]
    })
  }
}

# --- the design's three alerts --------------------------------------------------------

# Ingest errors as Cloud Run sees them: 5xx answers to push requests, out of all push
# requests that were not client errors. A retried message is answered 503, so it is in
# here; messages retried in pull mode are not (rules.yml covers those).
resource "google_monitoring_alert_policy" "ingest_error_rate" {
  project      = var.project_id
  display_name = "${local.name_prefix} Ingest error rate above 5%"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels  = local.labels

  conditions {
    display_name = "5xx share of push requests > 5% over 5m"
    condition_prometheus_query_language {
      query               = <<-EOT
        sum(rate(run_googleapis_com:request_count{
          monitored_resource="cloud_run_revision", project_id="${var.project_id}",
          service_name="${var.ingest_service_name}", response_code_class="5xx"}[5m]))
        /
        sum(rate(run_googleapis_com:request_count{
          monitored_resource="cloud_run_revision", project_id="${var.project_id}",
          service_name="${var.ingest_service_name}", response_code_class!="4xx"}[5m]))
        > 0.05
      EOT
      duration            = "60s"
      evaluation_interval = "60s"
    }
  }

  notification_channels = var.notification_channels
  documentation {
    subject   = "${local.name_prefix} ingest error rate above 5%"
    content   = "Runbook: ${local.runbook_base}/IngestErrorRateHigh.md"
    mime_type = "text/markdown"
  }
}

# p95 of Cloud Run's request latency for the whole data-api service. Cloud Run does not
# label requests by route; /healthz and /openapi.json are in here too (README.md).
resource "google_monitoring_alert_policy" "data_api_latency" {
  project      = var.project_id
  display_name = "${local.name_prefix} data-api p95 latency above 500 ms"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels  = local.labels

  conditions {
    display_name = "p95 request latency > 500 ms for 1m"
    condition_threshold {
      filter = join(" AND ", [
        local.cloud_run_data_api,
        "metric.type = \"run.googleapis.com/request_latencies\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 500 # milliseconds, the metric's unit
      duration        = "60s"
      aggregations {
        alignment_period     = "60s"
        per_series_aligner   = "ALIGN_DELTA"
        cross_series_reducer = "REDUCE_PERCENTILE_95"
        group_by_fields      = ["resource.labels.service_name"]
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels
  documentation {
    subject   = "${local.name_prefix} data-api p95 latency above 500 ms"
    content   = "Runbook: ${local.runbook_base}/DataApiLatencyHigh.md"
    mime_type = "text/markdown"
  }
}

resource "google_monitoring_alert_policy" "pubsub_backlog" {
  project      = var.project_id
  display_name = "${local.name_prefix} Pub/Sub backlog above 100"
  combiner     = "OR"
  severity     = "CRITICAL"
  user_labels  = local.labels

  conditions {
    display_name = "undelivered messages > 100 for 10m"
    condition_threshold {
      filter = join(" AND ", [
        "resource.type = \"pubsub_subscription\"",
        "resource.labels.subscription_id = \"${var.subscription_id}\"",
        "metric.type = \"pubsub.googleapis.com/subscription/num_undelivered_messages\"",
      ])
      comparison      = "COMPARISON_GT"
      threshold_value = 100
      duration        = "600s"
      aggregations {
        alignment_period   = "60s"
        per_series_aligner = "ALIGN_MAX"
      }
      trigger {
        count = 1
      }
    }
  }

  notification_channels = var.notification_channels
  documentation {
    subject   = "${local.name_prefix} Pub/Sub backlog above 100"
    content   = "Runbook: ${local.runbook_base}/PubsubBacklogHigh.md"
    mime_type = "text/markdown"
  }
}

# --- SLOs -----------------------------------------------------------------------------

resource "google_monitoring_custom_service" "pipeline" {
  project      = var.project_id
  service_id   = "${var.system}-pipeline"
  display_name = "${local.name_prefix} pipeline (ingest and data-api)"
  user_labels  = local.labels
}

# 99.9% of data-api requests over 30 days are not 5xx.
resource "google_monitoring_slo" "data_availability" {
  project             = var.project_id
  service             = google_monitoring_custom_service.pipeline.service_id
  slo_id              = "data-availability"
  display_name        = "${local.name_prefix} /data availability 99.9% (30d)"
  goal                = 0.999
  rolling_period_days = 30
  user_labels         = local.labels

  request_based_sli {
    good_total_ratio {
      bad_service_filter = join(" AND ", [
        local.request_count, local.cloud_run_data_api,
        "metric.labels.response_code_class = \"5xx\"",
      ])
      total_service_filter = join(" AND ", [local.request_count, local.cloud_run_data_api])
    }
  }
}

# 95% of data-api requests over 30 days take under 500 ms.
resource "google_monitoring_slo" "data_latency" {
  project             = var.project_id
  service             = google_monitoring_custom_service.pipeline.service_id
  slo_id              = "data-latency"
  display_name        = "${local.name_prefix} /data latency: 95% under 500 ms (30d)"
  goal                = 0.95
  rolling_period_days = 30
  user_labels         = local.labels

  request_based_sli {
    distribution_cut {
      distribution_filter = join(" AND ", [
        "metric.type = \"run.googleapis.com/request_latencies\"", local.cloud_run_data_api,
      ])
      range {
        max = 500 # milliseconds
      }
    }
  }
}

# 99% of push requests over 30 days that were not client errors are not 5xx.
resource "google_monitoring_slo" "ingest_errors" {
  project             = var.project_id
  service             = google_monitoring_custom_service.pipeline.service_id
  slo_id              = "ingest-errors"
  display_name        = "${local.name_prefix} ingest error rate under 1% (30d)"
  goal                = 0.99
  rolling_period_days = 30
  user_labels         = local.labels

  request_based_sli {
    good_total_ratio {
      bad_service_filter = join(" AND ", [
        local.request_count, local.cloud_run_ingest,
        "metric.labels.response_code_class = \"5xx\"",
      ])
      total_service_filter = join(" AND ", [
        local.request_count, local.cloud_run_ingest,
        "metric.labels.response_code_class != \"4xx\"",
      ])
    }
  }
}

# One policy per SLO and window pair; both windows must burn faster than the rate.
resource "google_monitoring_alert_policy" "slo_burn_rate" {
  for_each = local.burn_rate_policies

  project = var.project_id
  display_name = join(" ", [
    local.name_prefix, each.value.slo, "burning ${each.value.rate}x (${each.value.window})",
  ])
  combiner    = "AND"
  severity    = each.value.severity
  user_labels = merge(local.labels, { slo = each.value.slo, window = each.value.window })

  conditions {
    display_name = "burn rate > ${each.value.rate} over ${each.value.long}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${each.value.name}\", \"${each.value.long}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.rate
      duration        = "0s"
    }
  }
  conditions {
    display_name = "burn rate > ${each.value.rate} over ${each.value.short}"
    condition_threshold {
      filter          = "select_slo_burn_rate(\"${each.value.name}\", \"${each.value.short}\")"
      comparison      = "COMPARISON_GT"
      threshold_value = each.value.rate
      duration        = "0s"
    }
  }

  notification_channels = (
    each.value.page ? var.notification_channels : var.ticket_notification_channels
  )
  documentation {
    subject   = "${local.name_prefix} ${each.value.slo} SLO error budget burning"
    content   = "Runbook: ${local.runbook_base}/${each.value.runbook}.md"
    mime_type = "text/markdown"
  }
}

# --- dashboard ------------------------------------------------------------------------

resource "google_monitoring_dashboard" "pipeline" {
  project = var.project_id
  dashboard_json = templatefile("${path.module}/dashboard.json", {
    system                = var.system
    project_id            = var.project_id
    ingest_service_name   = var.ingest_service_name
    data_api_service_name = var.data_api_service_name
    subscription_id       = var.subscription_id
    slo_data_availability = google_monitoring_slo.data_availability.name
    slo_data_latency      = google_monitoring_slo.data_latency.name
    slo_ingest_errors     = google_monitoring_slo.ingest_errors.name
  })
}
