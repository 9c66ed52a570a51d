# The whole stack of one environment. dev and prod share this file verbatim
# (tests/terraform/test_policy.py checks it); they differ only in backend.tf and
# terraform.tfvars.

locals {
  # Subscription settings shared with `pipeline pubsub setup`, so the local emulator
  # and the cloud run with the same ack deadline, backoff and delivery attempts.
  pubsub_settings = jsondecode(file("${path.module}/../../../config/pubsub.json"))

  # APIs the stack calls, enabled before anything else is created.
  services = [
    "artifactregistry.googleapis.com",
    "bigquery.googleapis.com",
    "bigquerystorage.googleapis.com",
    "cloudresourcemanager.googleapis.com",
    "iam.googleapis.com",
    "iamcredentials.googleapis.com",
    "logging.googleapis.com",
    "monitoring.googleapis.com",
    "pubsub.googleapis.com",
    "run.googleapis.com",
    "serviceusage.googleapis.com",
    "sts.googleapis.com",
  ]

  # Enough to refresh every resource of the stack and read IAM policies.
  ci_plan_roles = [
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

  # What terraform apply and the rollout need; actAs on the runtime accounts is
  # granted per account by the pipeline module (deployers), not here.
  ci_apply_roles = [
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

  # The deploy round trip calls every system's data-api with one ID token.
  data_api_audience = "${var.prefix}-data-api"

  images = {
    ingest   = "${module.artifact_registry.image_base}/ingest:${var.image_tag}"
    data_api = "${module.artifact_registry.image_base}/data-api:${var.image_tag}"
  }
}

module "project_services" {
  source = "../../modules/project-services"

  project_id = var.project_id
  services   = local.services
}

module "github_wif" {
  source = "../../modules/github-wif"

  project_id        = var.project_id
  prefix            = var.prefix
  github_repository = var.github_repository
  state_bucket      = var.state_bucket
  plan_roles        = local.ci_plan_roles
  apply_roles       = local.ci_apply_roles

  depends_on = [module.project_services]
}

module "artifact_registry" {
  source = "../../modules/artifact-registry"

  project_id = var.project_id
  region     = var.region
  prefix     = var.prefix
  writers    = [module.github_wif.apply_member]

  depends_on = [module.project_services]
}

module "analytics_dataset" {
  source = "../../modules/analytics-dataset"

  project_id = var.project_id
  dataset_id = var.dataset_id
  location   = var.bigquery_location

  depends_on = [module.project_services]
}

# One pipeline per entry of var.systems: adding a system is one map entry in
# terraform.tfvars plus its schema file under schemas/.
module "pipeline" {
  source   = "../../modules/pipeline"
  for_each = var.systems

  project_id = var.project_id
  region     = var.region
  prefix     = var.prefix
  name       = each.key
  table      = each.value.table
  dataset_id = module.analytics_dataset.dataset_id
  images     = local.images
  ingest     = each.value.ingest
  data_api   = each.value.data_api
  pubsub = merge(
    local.pubsub_settings,
    { for key, value in each.value.pubsub : key => value if value != null },
  )

  # The deploy workflow's round trip reads through the new data-api revision as
  # the apply identity, so it is an invoker next to the named readers.
  data_api_invokers  = concat(each.value.data_api_invokers, [module.github_wif.apply_member])
  deployers          = [module.github_wif.apply_member]
  data_api_audiences = [local.data_api_audience]

  depends_on = [module.project_services]
}

# Alerts, SLOs and a dashboard per system (modules/monitoring, owned by the
# observability side; its inputs are per system, hence the same for_each).
module "monitoring" {
  source   = "../../modules/monitoring"
  for_each = var.systems

  project_id                   = var.project_id
  system                       = "${var.prefix}-${each.key}"
  ingest_service_name          = module.pipeline[each.key].ingest_service_name
  data_api_service_name        = module.pipeline[each.key].data_api_service_name
  subscription_id              = module.pipeline[each.key].push_subscription_name
  notification_channels        = var.notification_channels
  ticket_notification_channels = var.ticket_notification_channels
  user_labels                  = var.labels
}
