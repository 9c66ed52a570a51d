terraform {
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # condition_prometheus_query_language and the alert policy `severity` field need a
      # 5.x release or later; 6.x is the line this module was written against.
      version = ">= 6.0.0, < 8.0.0"
    }
  }
}
