# GitHub Actions reaches GCP through workload identity federation: no JSON keys.
# Two identities: plan (read-only, any ref of the repository, pull requests
# included) and apply (push to main only).

locals {
  pool_id = "${var.prefix}-github"

  # The apply identity: pushes to main only (the subject GitHub gives them).
  apply_principal = join("/", [
    "principal://iam.googleapis.com",
    google_iam_workload_identity_pool.github.name,
    "subject/repo:${var.github_repository}:ref:refs/heads/main",
  ])

  # The plan identity: any token the provider accepts, pull requests included.
  plan_principal = join("/", [
    "principalSet://iam.googleapis.com",
    google_iam_workload_identity_pool.github.name,
    "attribute.repository/${var.github_repository}",
  ])
}

resource "google_iam_workload_identity_pool" "github" {
  project                   = var.project_id
  workload_identity_pool_id = local.pool_id
  display_name              = "${var.prefix} GitHub Actions"
  description               = "OIDC tokens of ${var.github_repository}'s workflows."
}

resource "google_iam_workload_identity_pool_provider" "github" {
  project                            = var.project_id
  workload_identity_pool_provider_id = "github"
  display_name                       = "GitHub Actions OIDC"

  workload_identity_pool_id = google_iam_workload_identity_pool.github.workload_identity_pool_id

  # Without a condition any GitHub repository could exchange tokens here. Only
  # this repository, only pull requests and branch pushes (no tags, no
  # environments), and a main-ref token only from a push: pull_request_target
  # runs carry the base ref (refs/heads/main) and must never act for main.
  attribute_condition = <<-EOT
    assertion.repository == '${var.github_repository}' &&
    (assertion.sub == 'repo:${var.github_repository}:pull_request' ||
      assertion.sub.startsWith('repo:${var.github_repository}:ref:refs/heads/')) &&
    (assertion.ref != 'refs/heads/main' || assertion.event_name == 'push')
  EOT

  attribute_mapping = {
    "google.subject"       = "assertion.sub"
    "attribute.repository" = "assertion.repository"
    "attribute.ref"        = "assertion.ref"
    "attribute.event_name" = "assertion.event_name"
  }

  oidc {
    issuer_uri = "https://token.actions.githubusercontent.com"
  }
  # checkov:skip=CKV_GCP_125: the condition pins assertion.repository and the sub
  # claim to 'repo:<var.github_repository>:...'; checkov cannot resolve the variable.
}

resource "google_service_account" "plan" {
  project      = var.project_id
  account_id   = "${var.prefix}-ci-plan"
  display_name = "${var.prefix} CI terraform plan (read-only)"
  description  = "Used by pull-request CI for terraform plan; cannot change anything."
}

resource "google_service_account" "apply" {
  project      = var.project_id
  account_id   = "${var.prefix}-ci-apply"
  display_name = "${var.prefix} CI deploy (main only)"
  description  = "Used by the deploy workflow on main: terraform apply, image push, rollout."
}

resource "google_service_account_iam_member" "plan_wif" {
  service_account_id = google_service_account.plan.name
  role               = "roles/iam.workloadIdentityUser"
  member             = local.plan_principal
}

resource "google_service_account_iam_member" "apply_wif" {
  service_account_id = google_service_account.apply.name
  role               = "roles/iam.workloadIdentityUser"
  member             = local.apply_principal
}

resource "google_project_iam_member" "plan" {
  for_each = toset(var.plan_roles)

  project = var.project_id
  role    = each.value
  member  = google_service_account.plan.member
}

resource "google_project_iam_member" "apply" {
  for_each = toset(var.apply_roles)
  # checkov:skip=CKV_GCP_49: terraform apply creates the runtime service accounts
  # and sets their IAM policies, which needs serviceAccountAdmin on the project;
  # the identity is reachable only from pushes to main (attribute_condition).

  project = var.project_id
  role    = each.value
  member  = google_service_account.apply.member
}

# State: plan reads it (plans run with -lock=false), apply reads and writes it.
resource "google_storage_bucket_iam_member" "plan_state" {
  bucket = var.state_bucket
  role   = "roles/storage.objectViewer"
  member = google_service_account.plan.member
}

resource "google_storage_bucket_iam_member" "apply_state" {
  bucket = var.state_bucket
  role   = "roles/storage.objectAdmin"
  member = google_service_account.apply.member
}
