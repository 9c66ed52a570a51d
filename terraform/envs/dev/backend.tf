# The bucket is created once by hand before the first init (see
# terraform/README.md): backend blocks cannot take variables.
terraform {
  backend "gcs" {
    bucket = "airline-analytics-dev-tfstate"
    prefix = "pipeline/dev"
  }
}
