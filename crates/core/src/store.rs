//! The storage contract. Every backend (SQLite, BigQuery) implements [`Store`], and one
//! contract test suite holds them to the same behaviour.

use std::collections::BTreeMap;

use async_trait::async_trait;
use thiserror::Error;

use crate::query::{Cursor, PageQuery};
use crate::reason::Rejection;
use crate::value::Value;

/// A valid message, ready to be a row. The store stamps `ingested_at` at commit.
#[derive(Debug, Clone, PartialEq)]
pub struct RowRecord {
    pub message_id: String,
    pub publish_time: i64,
    pub attributes: BTreeMap<String, String>,
    /// One value per payload column, in schema order.
    pub values: Vec<Value>,
    /// The message data, kept so a row the store refuses can still be dead-lettered.
    pub payload: Vec<u8>,
}

/// A message that can never be stored, with why. The store stamps `dead_lettered_at`.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadLetter {
    pub message_id: String,
    pub publish_time: Option<i64>,
    pub attributes: BTreeMap<String, String>,
    pub payload: Vec<u8>,
    pub rejection: Rejection,
}

impl DeadLetter {
    pub fn from_row(row: RowRecord, rejection: Rejection) -> DeadLetter {
        DeadLetter {
            message_id: row.message_id,
            publish_time: Some(row.publish_time),
            attributes: row.attributes,
            payload: row.payload,
            rejection,
        }
    }
}

impl DeadLetter {
    /// The record's values in the order of [`crate::schema::meta::DEAD_LETTER_NAMES`].
    pub fn values(&self, dead_lettered_at: i64, target_table: &str) -> [Value; 9] {
        let attributes = serde_json::to_string(&self.attributes).unwrap_or_default();
        [
            Value::Timestamp(dead_lettered_at),
            Value::String(self.message_id.clone()),
            self.publish_time.map_or(Value::Null, Value::Timestamp),
            Value::Json(attributes),
            Value::Bytes(self.payload.clone()),
            Value::String(self.rejection.reason.as_str().to_owned()),
            Value::String(self.rejection.detail.clone()),
            self.rejection
                .field
                .clone()
                .map_or(Value::Null, Value::String),
            Value::String(target_table.to_owned()),
        ]
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum WriteItem {
    Row(RowRecord),
    DeadLetter(DeadLetter),
}

impl WriteItem {
    pub fn message_id(&self) -> &str {
        match self {
            WriteItem::Row(r) => &r.message_id,
            WriteItem::DeadLetter(d) => &d.message_id,
        }
    }
}

/// What happened to one item of a written batch.
#[derive(Debug, Clone, PartialEq)]
pub enum ItemOutcome {
    /// The row is durable.
    Stored,
    /// A row with this message id was already stored; nothing was written.
    Duplicate,
    /// The dead-letter record is durable (or one for this message id already was).
    DeadLettered,
    /// The store refused this row alone; the caller dead-letters it.
    Refused(Rejection),
}

/// A storage fault. Never the message's fault: the message is not acknowledged and
/// Pub/Sub delivers it again.
#[derive(Debug, Error)]
#[error("{context}: {source}")]
pub struct StoreError {
    pub context: String,
    #[source]
    pub source: Box<dyn std::error::Error + Send + Sync>,
}

impl StoreError {
    pub fn new(
        context: impl Into<String>,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        StoreError {
            context: context.into(),
            source: source.into(),
        }
    }
}

/// One row read back: its keyset position and the requested columns' values.
#[derive(Debug, Clone, PartialEq)]
pub struct StoredRow {
    pub cursor: Cursor,
    /// Values of `PageQuery::columns`, in that order.
    pub values: Vec<Value>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Page {
    pub rows: Vec<StoredRow>,
    /// Set when more rows follow the last one returned.
    pub next: Option<Cursor>,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// A short name for logs and metric labels (`sqlite`, `bigquery`).
    fn kind(&self) -> &'static str;

    /// Writes a batch and returns one outcome per item, in order. Either the whole batch
    /// is accounted for, or an error says nothing of it may be acknowledged.
    async fn write(&self, batch: &[WriteItem]) -> Result<Vec<ItemOutcome>, StoreError>;

    /// Reads one page. Each message id appears at most once across all pages.
    async fn query(&self, query: &PageQuery) -> Result<Page, StoreError>;

    /// Whether the store can serve reads and writes now.
    async fn ready(&self) -> Result<(), StoreError>;
}
