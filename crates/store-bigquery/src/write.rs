//! Appends through the Storage Write API's default stream, one Arrow batch per call.
//!
//! When BigQuery rejects some rows of an append, it appends none of them and names the
//! bad ones (`RowErrors`). Those rows become `Refused` and the rest are sent again, so
//! one bad row costs one extra round trip, not the batch.

use std::sync::Arc;

use arrow_schema::Schema;
use google_cloud_bigquery::client::Write;
use google_cloud_bigquery::error::AppendError;
use google_cloud_bigquery::model::{ArrowRecordBatch, ArrowSchema};
use google_cloud_bigquery::write::DefaultWriter;
use google_cloud_bigquery::write::format::Arrow;
use google_cloud_gax::retry_policy::NeverRetry;
use pipeline_core::reason::{ReasonCode, Rejection};
use pipeline_core::schema::Field;
use pipeline_core::store::{ItemOutcome, StoreError};
use pipeline_core::value::Value;

use crate::BigQueryConfig;
use crate::arrow::{arrow_schema, batch_bytes, schema_bytes};
use crate::retry::{CallError, retrying};

pub async fn client(config: &BigQueryConfig) -> Result<Write, StoreError> {
    let mut builder = Write::builder();
    if let Some(endpoint) = &config.grpc_endpoint {
        builder = builder.with_endpoint(endpoint);
    }
    if let Some(credentials) = config.credentials() {
        builder = builder.with_credentials(credentials);
    }
    builder
        .build()
        .await
        .map_err(|e| StoreError::new("failed to build the BigQuery write client", e))
}

/// One table's default stream and the Arrow schema its batches use.
pub struct Appender {
    writer: DefaultWriter<Arrow>,
    schema: Arc<Schema>,
    columns: Vec<Field>,
    table: String,
}

/// What one append attempt got back, when it got an answer at all.
enum Answer {
    Appended,
    /// Indices (into the rows sent) and BigQuery's message for each rejected row.
    RowErrors(Vec<(usize, String)>),
}

impl Appender {
    pub async fn open(
        client: &Write,
        config: &BigQueryConfig,
        table: &str,
        columns: &[Field],
    ) -> Result<Appender, StoreError> {
        let schema = Arc::new(arrow_schema(columns));
        let arrow = ArrowSchema::new().set_serialized_schema(schema_bytes(&schema));
        let build = client
            .open_default_stream(table)
            .with_retry_policy(NeverRetry)
            .with_attempt_timeout(config.retry.attempt_timeout)
            .build_arrow(arrow);
        let writer = tokio::time::timeout(config.retry.attempt_timeout, build)
            .await
            .map_err(|_| {
                StoreError::new(
                    format!("failed to open the write stream of {table}"),
                    format!("no answer within {:?}", config.retry.attempt_timeout),
                )
            })?
            .map_err(|e| {
                StoreError::new(format!("failed to open the write stream of {table}"), e)
            })?;
        Ok(Appender {
            writer,
            schema,
            columns: columns.to_vec(),
            table: table.to_owned(),
        })
    }

    /// Appends `rows` (each tagged with its index in the caller's batch) and answers
    /// each index with `Stored` or `Refused`.
    pub async fn append(
        &self,
        config: &BigQueryConfig,
        mut rows: Vec<(usize, Vec<Value>)>,
    ) -> Result<Vec<(usize, ItemOutcome)>, StoreError> {
        let mut outcomes = Vec::with_capacity(rows.len());
        while !rows.is_empty() {
            let values: Vec<Vec<Value>> = rows.iter().map(|(_, v)| v.clone()).collect();
            let bytes = batch_bytes(&self.schema, &self.columns, &values).map_err(|e| {
                StoreError::new(format!("failed to encode rows for {}", self.table), e)
            })?;
            let batch = ArrowRecordBatch::new().set_serialized_record_batch(bytes);

            match self.send(config, batch).await? {
                Answer::Appended => {
                    outcomes.extend(rows.drain(..).map(|(i, _)| (i, ItemOutcome::Stored)));
                }
                Answer::RowErrors(errors) => {
                    tracing::warn!(
                        table = %self.table,
                        rejected = errors.len(),
                        of = rows.len(),
                        "bigquery rejected rows; appending the others again"
                    );
                    let mut refused = vec![None; rows.len()];
                    for (index, message) in errors {
                        if let Some(slot) = refused.get_mut(index) {
                            *slot = Some(message);
                        }
                    }
                    if refused.iter().all(Option::is_none) {
                        return Err(StoreError::new(
                            format!("append to {}", self.table),
                            "row errors named no row of the batch",
                        ));
                    }
                    let mut kept = Vec::with_capacity(rows.len());
                    for ((i, values), message) in rows.into_iter().zip(refused) {
                        match message {
                            Some(message) => outcomes.push((
                                i,
                                ItemOutcome::Refused(Rejection::new(
                                    ReasonCode::RejectedByStore,
                                    format!("BigQuery rejected the row: {message}"),
                                )),
                            )),
                            None => kept.push((i, values)),
                        }
                    }
                    rows = kept;
                }
            }
        }
        Ok(outcomes)
    }

    async fn send(
        &self,
        config: &BigQueryConfig,
        batch: ArrowRecordBatch,
    ) -> Result<Answer, StoreError> {
        let what = format!("append to {}", self.table);
        retrying(&what, config.retry, || {
            let call = self.writer.append(batch.clone()).send();
            async move {
                match call.await {
                    Ok(_) => Ok(Answer::Appended),
                    Err(AppendError::RowErrors { row_errors, .. }) => Ok(Answer::RowErrors(
                        row_errors
                            .into_iter()
                            .map(|e| (usize::try_from(e.index).unwrap_or(usize::MAX), e.message))
                            .collect(),
                    )),
                    Err(AppendError::Rpc { source, .. }) => Err(CallError::from_gax(&source)),
                    // The stream closed under us: a new attempt opens a new one.
                    Err(other) => Err(CallError {
                        transient: true,
                        message: other.to_string(),
                    }),
                }
            }
        })
        .await
    }
}
