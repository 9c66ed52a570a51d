//! Settings both services take, as flags or environment variables (Cloud Run passes
//! settings as env). Checked at start-up, so a bad value stops the process with a clear
//! message instead of failing on the first request.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use clap::{Args, ValueEnum};
use pipeline_core::schema::TableSchema;
use pipeline_core::store::Store;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum StoreKind {
    /// The embedded SQLite store (the local default).
    Sqlite,
    /// BigQuery (production).
    Bigquery,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SqliteDurability {
    Full,
    Normal,
}

#[derive(Debug, Clone, Args)]
pub struct StoreArgs {
    /// Table schema file (BigQuery JSON schema); the table is named after the file.
    #[arg(
        long,
        env = "PIPELINE_SCHEMA",
        default_value = "schemas/example_table.json"
    )]
    pub schema: PathBuf,

    /// Folder holding metadata.json and dead_letter.json [default: the schema's folder].
    #[arg(long, env = "PIPELINE_SCHEMA_DIR")]
    pub schema_dir: Option<PathBuf>,

    #[arg(long, env = "PIPELINE_STORE", value_enum, default_value_t = StoreKind::Sqlite)]
    pub store: StoreKind,

    /// Where the SQLite store keeps `<table>.db`.
    #[arg(long, env = "PIPELINE_DATA_DIR", default_value = "data")]
    pub data_dir: PathBuf,

    /// SQLite commit durability: `full` fsyncs every commit (survives power loss);
    /// `normal` survives a killed process but not a power cut. See docs/benchmarks.md.
    #[arg(
        long,
        env = "PIPELINE_SQLITE_DURABILITY",
        value_enum,
        default_value_t = SqliteDurability::Full
    )]
    pub sqlite_durability: SqliteDurability,

    /// BigQuery project (with `--store bigquery`).
    #[arg(long, env = "PIPELINE_BQ_PROJECT")]
    pub bq_project: Option<String>,

    /// BigQuery dataset (with `--store bigquery`).
    #[arg(long, env = "PIPELINE_BQ_DATASET", default_value = "analytics_dataset")]
    pub bq_dataset: String,

    #[command(flatten)]
    pub bigquery: crate::bigquery::BigQueryArgs,
}

impl StoreArgs {
    pub fn load_schema(&self) -> anyhow::Result<Arc<TableSchema>> {
        let schema =
            TableSchema::load(&self.schema, self.schema_dir.as_deref()).with_context(|| {
                format!("failed to load the table schema {}", self.schema.display())
            })?;
        Ok(Arc::new(schema))
    }

    /// Opens the configured store for `schema`.
    pub fn open_store(&self, schema: Arc<TableSchema>) -> anyhow::Result<Arc<dyn Store>> {
        match self.store {
            StoreKind::Sqlite => {
                let durability = match self.sqlite_durability {
                    SqliteDurability::Full => pipeline_store_sqlite::Durability::Full,
                    SqliteDurability::Normal => pipeline_store_sqlite::Durability::Normal,
                };
                let store = pipeline_store_sqlite::SqliteStore::open_with(
                    &self.data_dir,
                    schema,
                    durability,
                )
                .context("failed to open the SQLite store")?;
                Ok(Arc::new(store))
            }
            StoreKind::Bigquery => {
                let config = self
                    .bigquery
                    .config(self.bq_project.as_deref(), &self.bq_dataset)?;
                // Opening connects, so it is async; callers are sync and all run on a
                // multi-threaded runtime, where block_in_place is allowed (it panics
                // on a current-thread runtime: use `BigQueryArgs::open` there).
                tokio::task::block_in_place(|| {
                    tokio::runtime::Handle::current().block_on(self.bigquery.open(config, schema))
                })
            }
        }
    }

    /// Writes the batcher may run at once for this store: SQLite has one writer;
    /// BigQuery takes concurrent appends.
    pub fn max_concurrent_writes(&self) -> usize {
        match self.store {
            StoreKind::Sqlite => 1,
            StoreKind::Bigquery => pipeline_store_bigquery::MAX_CONCURRENT_WRITES,
        }
    }
}

#[derive(Debug, Clone, Args)]
pub struct ListenArgs {
    /// Port to listen on (Cloud Run sets PORT).
    #[arg(long, env = "PORT", default_value_t = 8080)]
    pub port: u16,

    /// Address to bind. Cloud Run needs 0.0.0.0; locally the default keeps the service
    /// on this machine.
    #[arg(long, env = "PIPELINE_BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    pub bind: IpAddr,
}

impl ListenArgs {
    pub fn addr(&self) -> SocketAddr {
        SocketAddr::new(self.bind, self.port)
    }
}
