terraform {
  # optional() object attributes need 1.3; 1.5 is the floor the env roots pin.
  required_version = ">= 1.5.0"

  required_providers {
    google = {
      source = "hashicorp/google"
      # 6.x: deletion_protection and custom_audiences on Cloud Run v2 services.
      version = ">= 6.0.0, < 7.0.0"
    }
  }
}
