output "custom_service_id" {
  description = "Id of the Cloud Monitoring custom service that holds the SLOs."
  value       = google_monitoring_custom_service.pipeline.service_id
}

output "slo_names" {
  description = "Full resource names of the SLOs, by SLO key (for select_slo_* queries)."
  value       = { for key, slo in local.slos : key => slo.name }
}

output "alert_policy_ids" {
  description = "Alert policy resource names: the three design alerts and the burn-rate ones."
  value = merge(
    {
      ingest_error_rate = google_monitoring_alert_policy.ingest_error_rate.name
      data_api_latency  = google_monitoring_alert_policy.data_api_latency.name
      pubsub_backlog    = google_monitoring_alert_policy.pubsub_backlog.name
    },
    { for key, policy in google_monitoring_alert_policy.slo_burn_rate : key => policy.name },
  )
}

output "dashboard_id" {
  description = "Id of the Cloud Monitoring dashboard."
  value       = google_monitoring_dashboard.pipeline.id
}
