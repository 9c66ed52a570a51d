resource "google_bigquery_table" "main" {
  project             = var.project_id
  dataset_id          = var.dataset_id
  table_id            = var.table
  description         = "Rows ingested from Pub/Sub topic ${local.name}."
  deletion_protection = var.deletion_protection
  labels              = local.labels

  # metadata.json first, then the table's own columns: the order every other
  # reader of the schema files uses (docs/architecture.md).
  schema = jsonencode(concat(
    jsondecode(file("${local.schema_dir}/metadata.json")),
    jsondecode(file(local.table_schema_file)),
  ))

  # Daily partitions on ingestion time keep freshness queries and retention cheap;
  # clustering on message_id keeps the idempotency look-ups narrow.
  time_partitioning {
    type  = "DAY"
    field = "ingested_at"
  }
  clustering = ["message_id"]

  dynamic "encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = encryption_configuration.value
    }
  }

  lifecycle {
    precondition {
      condition     = fileexists(local.table_schema_file)
      error_message = "No schema file schemas/${var.table}.json for table ${var.table}."
    }
  }
  # checkov:skip=CKV_GCP_80: CMEK is opt-in through var.kms_key_name (dynamic block).
}

resource "google_bigquery_table" "dead_letter" {
  project             = var.project_id
  dataset_id          = var.dataset_id
  table_id            = local.dead_letter_table
  description         = "Messages the ingest service rejected for ${var.table}."
  deletion_protection = var.deletion_protection
  labels              = local.labels
  schema              = jsonencode(jsondecode(file("${local.schema_dir}/dead_letter.json")))

  time_partitioning {
    type  = "DAY"
    field = "dead_lettered_at"
  }
  clustering = ["reason"]

  dynamic "encryption_configuration" {
    for_each = var.kms_key_name == null ? [] : [var.kms_key_name]
    content {
      kms_key_name = encryption_configuration.value
    }
  }
  # checkov:skip=CKV_GCP_80: CMEK is opt-in through var.kms_key_name (dynamic block).
}
