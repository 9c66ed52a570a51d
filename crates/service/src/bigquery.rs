//! The BigQuery store's settings (flattened into `StoreArgs`) and how to open it.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use clap::Args;
use pipeline_core::schema::TableSchema;
use pipeline_core::store::Store;
use pipeline_store_bigquery::{BigQueryConfig, BigQueryStore, RetryConfig};

#[derive(Debug, Clone, Args)]
pub struct BigQueryArgs {
    /// BigQuery REST endpoint override, e.g. an emulator's `http://127.0.0.1:9050`
    /// [default: Google's].
    #[arg(long, env = "PIPELINE_BQ_ENDPOINT")]
    pub bq_endpoint: Option<String>,

    /// Storage Write API (gRPC) endpoint override, with its scheme:
    /// `http://127.0.0.1:9060` [default: Google's].
    #[arg(long, env = "PIPELINE_BQ_GRPC_ENDPOINT")]
    pub bq_grpc_endpoint: Option<String>,

    /// Send no credentials (emulators only). Otherwise Application Default Credentials.
    #[arg(long, env = "PIPELINE_BQ_ANONYMOUS", default_value_t = false)]
    pub bq_anonymous: bool,

    /// Create the dataset and tables from the schema files at start-up if missing
    /// (emulators and first runs; in the cloud Terraform owns them).
    #[arg(long, env = "PIPELINE_BQ_CREATE_TABLES", default_value_t = false)]
    pub bq_create_tables: bool,

    /// Longest one BigQuery call may take before it counts as failed and is retried.
    #[arg(long, env = "PIPELINE_BQ_ATTEMPT_TIMEOUT_MS", default_value_t = 4_000)]
    pub bq_attempt_timeout_ms: u64,
}

impl BigQueryArgs {
    pub fn config(&self, project: Option<&str>, dataset: &str) -> anyhow::Result<BigQueryConfig> {
        let project = project
            .filter(|p| !p.is_empty())
            .context("--store bigquery needs a project: set PIPELINE_BQ_PROJECT")?;
        anyhow::ensure!(
            (100..=60_000).contains(&self.bq_attempt_timeout_ms),
            "PIPELINE_BQ_ATTEMPT_TIMEOUT_MS must be from 100 to 60000"
        );
        let mut config = BigQueryConfig::new(project, dataset);
        config.rest_endpoint = self.bq_endpoint.clone();
        config.grpc_endpoint = self.bq_grpc_endpoint.clone();
        config.anonymous = self.bq_anonymous;
        config.retry = RetryConfig {
            attempt_timeout: Duration::from_millis(self.bq_attempt_timeout_ms),
            ..RetryConfig::default()
        };
        Ok(config)
    }

    /// Creates the tables if asked to, then opens the store.
    pub async fn open(
        &self,
        config: BigQueryConfig,
        schema: Arc<TableSchema>,
    ) -> anyhow::Result<Arc<dyn Store>> {
        if self.bq_create_tables {
            let created = pipeline_store_bigquery::create_tables(&config, &schema)
                .await
                .context("failed to create the BigQuery tables")?;
            tracing::info!(?created, "bigquery tables checked");
        }
        let store = BigQueryStore::open(config, schema)
            .await
            .context("failed to open the BigQuery store")?;
        Ok(Arc::new(store))
    }
}
