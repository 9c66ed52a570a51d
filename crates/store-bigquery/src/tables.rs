//! Creating the dataset and tables from the schema files, for emulators and first runs.
//! In the cloud Terraform owns them; `pipeline bq create` and `--bq-create-tables` are
//! for everything else. Creating what already exists is not an error.

use google_cloud_bigquery_v2::client::{DatasetService, TableService};
use google_cloud_bigquery_v2::model::{Dataset, Table};
use google_cloud_gax::error::rpc::Code;
use pipeline_core::schema::{Field, FieldType, Mode, TableSchema};
use pipeline_core::store::StoreError;
use serde_json::{Value as Json, json};

use crate::retry::{CallError, retrying};
use crate::{BigQueryConfig, Clients};

/// A column as a BigQuery JSON schema field (descriptions included).
fn field_json(field: &Field) -> Json {
    let mode = match field.mode {
        Mode::Nullable => "NULLABLE",
        Mode::Required => "REQUIRED",
        Mode::Repeated => "REPEATED",
    };
    let mut out = json!({"name": field.name, "type": field.ty.as_str(), "mode": mode});
    if let Some(description) = &field.description {
        out["description"] = json!(description);
    }
    if field.ty == FieldType::Record {
        out["fields"] = field.fields.iter().map(field_json).collect();
    }
    out
}

/// The table resource: day-partitioned on the time column the store stamps, clustered
/// by the idempotency key that the read-side de-duplication partitions by.
fn table_json(config: &BigQueryConfig, name: &str, columns: &[Field], time: &str) -> Json {
    json!({
        "tableReference": {
            "projectId": config.project,
            "datasetId": config.dataset,
            "tableId": name,
        },
        "schema": {"fields": columns.iter().map(field_json).collect::<Vec<_>>()},
        "timePartitioning": {"type": "DAY", "field": time},
        "clustering": {"fields": ["message_id"]},
    })
}

fn exists(error: &google_cloud_gax::error::Error) -> bool {
    error.http_status_code() == Some(409)
        || error
            .status()
            .is_some_and(|s| s.code == Code::AlreadyExists)
}

/// Creates the dataset, the table and its dead-letter table if they are missing.
/// Returns the names of what it created.
pub async fn create_all(
    config: &BigQueryConfig,
    schema: &TableSchema,
) -> Result<Vec<String>, StoreError> {
    let clients = Clients::rest(config).await?;
    let mut created = Vec::new();

    let dataset: Dataset = serde_json::from_value(json!({
        "datasetReference": {"projectId": config.project, "datasetId": config.dataset},
    }))
    .map_err(|e| StoreError::new("failed to build the dataset resource", e))?;
    if create_dataset(&clients.datasets, config, dataset).await? {
        created.push(config.dataset.clone());
    }

    let tables = [
        table_json(config, &schema.name, &schema.columns, "ingested_at"),
        table_json(
            config,
            &schema.dead_letter_table(),
            &schema.dead_letter,
            "dead_lettered_at",
        ),
    ];
    for resource in tables {
        let name = resource["tableReference"]["tableId"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let table: Table = serde_json::from_value(resource)
            .map_err(|e| StoreError::new("failed to build a table resource", e))?;
        if create_table(&clients.tables, config, table).await? {
            created.push(format!("{}.{name}", config.dataset));
        }
    }
    Ok(created)
}

async fn create_dataset(
    client: &DatasetService,
    config: &BigQueryConfig,
    dataset: Dataset,
) -> Result<bool, StoreError> {
    retrying("create dataset", config.retry, || {
        let call = client
            .insert_dataset()
            .set_project_id(&config.project)
            .set_dataset(dataset.clone())
            .send();
        async move {
            match call.await {
                Ok(_) => Ok(true),
                Err(e) if exists(&e) => Ok(false),
                Err(e) => Err(CallError::from_gax(&e)),
            }
        }
    })
    .await
}

async fn create_table(
    client: &TableService,
    config: &BigQueryConfig,
    table: Table,
) -> Result<bool, StoreError> {
    retrying("create table", config.retry, || {
        let call = client
            .insert_table()
            .set_project_id(&config.project)
            .set_dataset_id(&config.dataset)
            .set_table(table.clone())
            .send();
        async move {
            match call.await {
                Ok(_) => Ok(true),
                Err(e) if exists(&e) => Ok(false),
                Err(e) => Err(CallError::from_gax(&e)),
            }
        }
    })
    .await
}
