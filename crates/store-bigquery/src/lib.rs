//! The production store: BigQuery through Google's official `google-cloud-bigquery`.
//!
//! - Writes append one Arrow record batch per batch from the core batcher to the table's
//!   default write stream (Storage Write API, gRPC). The default stream is
//!   at-least-once, so a redelivered message may be stored twice; `write` therefore
//!   reports `Stored`, never `Duplicate` (`docs/adr/0001-bigquery-default-stream.md`).
//! - Reads de-duplicate by `message_id` (the earliest copy wins) in the query itself,
//!   so `/data` never shows a message twice, and page with a keyset cursor over
//!   `(ingested_at, message_id)` with named parameters.
//! - Rows BigQuery rejects one by one come back as `Refused`, and the rest of the batch
//!   is appended again without them; the batcher dead-letters the refused ones.
//! - Every call has an attempt timeout; transient failures are retried within a budget
//!   below the batcher's write timeout ([`retry`]).
//!
//! `docs/bigquery.md` describes configuration and where the emulator differs.

mod arrow;
mod decode;
mod retry;
mod sql;
mod tables;
mod write;

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};

use async_trait::async_trait;
use google_cloud_auth::credentials::Credentials;
use google_cloud_bigquery::client::BigQuery;
use google_cloud_bigquery_v2::client::{DatasetService, TableService};
use google_cloud_gax::retry_policy::NeverRetry;
use pipeline_core::query::{Cursor, PageQuery};
use pipeline_core::schema::{TableSchema, meta};
use pipeline_core::store::{ItemOutcome, Page, Store, StoreError, StoredRow, WriteItem};
use pipeline_core::value::Value;

pub use retry::RetryConfig;
pub use tables::create_all as create_tables;

use crate::retry::{CallError, retrying};
use crate::write::Appender;

/// Writes the batcher may run at once. The Storage Write API takes concurrent appends
/// on the default stream, and each costs a round trip, so a few in flight keep a
/// single instance busy without piling up requests (SQLite uses 1).
pub const MAX_CONCURRENT_WRITES: usize = 4;

/// Where and how to reach BigQuery.
#[derive(Debug, Clone)]
pub struct BigQueryConfig {
    pub project: String,
    pub dataset: String,
    /// REST endpoint (jobs, tables), e.g. `http://127.0.0.1:9050` for an emulator.
    pub rest_endpoint: Option<String>,
    /// Storage Write API (gRPC) endpoint, with its scheme: `http://127.0.0.1:9060`.
    pub grpc_endpoint: Option<String>,
    /// No credentials at all (emulators). Otherwise Application Default Credentials.
    pub anonymous: bool,
    pub retry: RetryConfig,
}

impl BigQueryConfig {
    pub fn new(project: impl Into<String>, dataset: impl Into<String>) -> BigQueryConfig {
        BigQueryConfig {
            project: project.into(),
            dataset: dataset.into(),
            rest_endpoint: None,
            grpc_endpoint: None,
            anonymous: false,
            retry: RetryConfig::default(),
        }
    }

    fn credentials(&self) -> Option<Credentials> {
        self.anonymous
            .then(|| google_cloud_auth::credentials::anonymous::Builder::new().build())
    }

    fn table_path(&self, table: &str) -> String {
        format!(
            "projects/{}/datasets/{}/tables/{table}",
            self.project, self.dataset
        )
    }
}

fn builder_error(what: &str) -> impl FnOnce(google_cloud_gax::client_builder::Error) -> StoreError {
    let context = format!("failed to build the BigQuery {what} client");
    move |e| StoreError::new(context, e)
}

/// The REST clients for datasets and tables. Our own [`retry`] decides retries, so the
/// clients' own retry loops are off.
pub(crate) struct Clients {
    pub datasets: DatasetService,
    pub tables: TableService,
}

impl Clients {
    pub async fn rest(config: &BigQueryConfig) -> Result<Clients, StoreError> {
        let mut datasets = DatasetService::builder().with_retry_policy(NeverRetry);
        let mut tables = TableService::builder().with_retry_policy(NeverRetry);
        if let Some(endpoint) = &config.rest_endpoint {
            datasets = datasets.with_endpoint(endpoint);
            tables = tables.with_endpoint(endpoint);
        }
        if let Some(credentials) = config.credentials() {
            datasets = datasets.with_credentials(credentials.clone());
            tables = tables.with_credentials(credentials);
        }
        Ok(Clients {
            datasets: datasets.build().await.map_err(builder_error("dataset"))?,
            tables: tables.build().await.map_err(builder_error("table"))?,
        })
    }
}

pub struct BigQueryStore {
    schema: Arc<TableSchema>,
    config: BigQueryConfig,
    query: BigQuery,
    tables: TableService,
    rows: Appender,
    dead_letters: Appender,
    /// `project.dataset.table`, quoted, for SQL.
    table_ref: String,
    /// `ingested_at` never goes backwards within a process, even if the clock does.
    last_ingested_at: AtomicI64,
}

impl BigQueryStore {
    /// Connects to BigQuery and opens the write streams for the table and its
    /// dead-letter table. The tables must exist (Terraform, or [`create_tables`]).
    pub async fn open(
        config: BigQueryConfig,
        schema: Arc<TableSchema>,
    ) -> Result<BigQueryStore, StoreError> {
        let mut query = BigQuery::builder()
            .with_project_id(&config.project)
            .with_retry_policy(NeverRetry);
        if let Some(endpoint) = &config.rest_endpoint {
            query = query.with_endpoint(endpoint);
        }
        if let Some(credentials) = config.credentials() {
            query = query.with_credentials(credentials);
        }
        let query = query.build().await.map_err(builder_error("query"))?;
        let clients = Clients::rest(&config).await?;

        let write = write::client(&config).await?;
        let rows = Appender::open(
            &write,
            &config,
            &config.table_path(&schema.name),
            &schema.columns,
        )
        .await?;
        let dead_letters = Appender::open(
            &write,
            &config,
            &config.table_path(&schema.dead_letter_table()),
            &schema.dead_letter,
        )
        .await?;

        let table_ref = sql::table_ref(&config.project, &config.dataset, &schema.name);
        tracing::info!(
            project = %config.project,
            dataset = %config.dataset,
            table = %schema.name,
            rest = config.rest_endpoint.as_deref().unwrap_or("default"),
            grpc = config.grpc_endpoint.as_deref().unwrap_or("default"),
            "bigquery store open"
        );
        Ok(BigQueryStore {
            schema,
            config,
            query,
            tables: clients.tables,
            rows,
            dead_letters,
            table_ref,
            last_ingested_at: AtomicI64::new(0),
        })
    }

    fn stamp(&self) -> i64 {
        let now = chrono::Utc::now().timestamp_micros();
        let previous = self.last_ingested_at.fetch_max(now, Ordering::SeqCst);
        now.max(previous)
    }
}

#[async_trait]
impl Store for BigQueryStore {
    fn kind(&self) -> &'static str {
        "bigquery"
    }

    async fn write(&self, batch: &[WriteItem]) -> Result<Vec<ItemOutcome>, StoreError> {
        let now = self.stamp();
        let mut outcomes: Vec<Option<ItemOutcome>> = vec![None; batch.len()];
        let mut rows = Vec::new();
        let mut letters = Vec::new();
        for (i, item) in batch.iter().enumerate() {
            match item {
                WriteItem::Row(row) => {
                    let mut values = Vec::with_capacity(self.schema.columns.len());
                    values.push(Value::String(row.message_id.clone()));
                    values.push(Value::Timestamp(row.publish_time));
                    let attributes = serde_json::to_string(&row.attributes)
                        .map_err(|e| StoreError::new("failed to encode attributes", e))?;
                    values.push(Value::Json(attributes));
                    values.push(Value::Timestamp(now));
                    values.extend(row.values.iter().cloned());
                    rows.push((i, values));
                }
                WriteItem::DeadLetter(letter) => {
                    letters.push((i, letter.values(now, &self.schema.name).to_vec()));
                }
            }
        }

        if !rows.is_empty() {
            for (i, outcome) in self.rows.append(&self.config, rows).await? {
                outcomes[i] = Some(outcome);
            }
        }
        if !letters.is_empty() {
            for (i, outcome) in self.dead_letters.append(&self.config, letters).await? {
                outcomes[i] = Some(match outcome {
                    ItemOutcome::Stored => ItemOutcome::DeadLettered,
                    // A dead-letter record BigQuery refuses has nowhere else to go: the
                    // message stays unacknowledged and an operator must look.
                    ItemOutcome::Refused(rejection) => {
                        return Err(StoreError::new(
                            "bigquery refused a dead-letter record",
                            rejection,
                        ));
                    }
                    other => other,
                });
            }
        }
        outcomes
            .into_iter()
            .map(|o| o.ok_or_else(|| StoreError::new("bigquery write", "an item had no outcome")))
            .collect()
    }

    async fn query(&self, query: &PageQuery) -> Result<Page, StoreError> {
        let plan = sql::Plan::new(&self.schema, &self.table_ref, query);
        let page_size = u32::try_from(query.limit + 1).unwrap_or(u32::MAX);
        let rows = retrying("query", self.config.retry, || {
            let request = self
                .query
                .query(plan.sql.clone())
                .set_parameter_mode("NAMED")
                .set_query_parameters(plan.params.clone())
                .set_page_size(page_size);
            async move {
                let done = request
                    .until_done()
                    .await
                    .map_err(|e| CallError::from_query(&e))?;
                let mut iter = done.read().set_page_size(page_size);
                let mut rows = Vec::new();
                while let Some(row) = iter.next().await {
                    rows.push(row.map_err(|e| CallError::from_row(&e))?);
                }
                Ok(rows)
            }
        })
        .await?;

        let unreadable = |e: String| StoreError::new("bigquery returned a value it cannot read", e);
        let mut out = Vec::with_capacity(rows.len().min(query.limit));
        let mut more = false;
        for row in rows {
            if out.len() == query.limit {
                more = true;
                break;
            }
            let cell = |i: usize| -> Result<serde_json::Value, StoreError> {
                row.get::<serde_json::Value>(i)
                    .map_err(|e| unreadable(format!("column {i}: {e}")))
            };
            let ingested_at =
                match decode::decode(&self.schema.columns[meta::INGESTED_AT], cell(0)?) {
                    Ok(Value::Timestamp(us)) => us,
                    other => return Err(unreadable(format!("ingested_at came back as {other:?}"))),
                };
            let message_id = match cell(1)? {
                serde_json::Value::String(id) => id,
                other => return Err(unreadable(format!("message_id came back as {other}"))),
            };
            let mut values = Vec::with_capacity(query.columns.len());
            for (n, &column) in query.columns.iter().enumerate() {
                let field = &self.schema.columns[column];
                values.push(decode::decode(field, cell(n + 2)?).map_err(unreadable)?);
            }
            out.push(StoredRow {
                cursor: Cursor {
                    ingested_at,
                    message_id,
                },
                values,
            });
        }
        let next = if more {
            out.last().map(|r| r.cursor.clone())
        } else {
            None
        };
        Ok(Page { rows: out, next })
    }

    async fn ready(&self) -> Result<(), StoreError> {
        retrying("readiness check (get table)", self.config.retry, || {
            let call = self
                .tables
                .get_table()
                .set_project_id(&self.config.project)
                .set_dataset_id(&self.config.dataset)
                .set_table_id(&self.schema.name)
                .send();
            async move { call.await.map(|_| ()).map_err(|e| CallError::from_gax(&e)) }
        })
        .await
    }
}
