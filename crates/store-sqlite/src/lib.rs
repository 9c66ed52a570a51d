//! The embedded store: one SQLite file in WAL mode.
//!
//! - Writes come in batches from the core batcher and commit in one transaction with
//!   `synchronous=FULL`, so a row is on disk before its request is answered, and the
//!   file survives `kill -9` (WAL recovery on the next open).
//! - `message_id` is UNIQUE: a redelivered message is reported as a duplicate and
//!   written once; a repeated dead-letter record is likewise kept once.
//! - Reads use a small pool of read-only connections, which WAL lets run beside the
//!   writer without blocking it.

mod codec;
mod ddl;
mod pool;
mod query;

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use async_trait::async_trait;
use pipeline_core::query::PageQuery;
use pipeline_core::schema::TableSchema;
use pipeline_core::store::{ItemOutcome, Page, Store, StoreError, WriteItem};
use rusqlite::{Connection, OpenFlags};

use crate::codec::SqlRow;
use crate::pool::Readers;

/// How long a statement waits for a lock held by another connection before the write
/// fails (and the batch is answered 503, so Pub/Sub retries).
const BUSY_TIMEOUT_MS: u64 = 2_000;
const READERS: usize = 4;

/// How hard a commit pushes to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// `synchronous=FULL`: each commit is fsynced before the batch is answered, so an
    /// acknowledged row survives a power cut as well as `kill -9`. The default.
    #[default]
    Full,
    /// `synchronous=NORMAL`: commits reach the OS but are fsynced only at checkpoints.
    /// An acknowledged row survives `kill -9` of the process, but a power cut or kernel
    /// crash can lose the last commits. Several times the throughput on slow disks;
    /// for local runs and benchmarks, not for data that matters.
    Normal,
}

pub struct SqliteStore {
    schema: Arc<TableSchema>,
    writer: Arc<Mutex<Writer>>,
    readers: Arc<Readers>,
    path: PathBuf,
}

struct Writer {
    conn: Connection,
    insert_row: String,
    insert_dead_letter: String,
    /// `ingested_at` never goes backwards, even if the clock does, so keyset pages
    /// already handed out stay complete.
    last_ingested_at: i64,
}

fn store_error(context: &str) -> impl FnOnce(rusqlite::Error) -> StoreError + '_ {
    move |e| StoreError::new(context.to_owned(), e)
}

fn configure(conn: &Connection, durability: Durability) -> rusqlite::Result<()> {
    conn.busy_timeout(std::time::Duration::from_millis(BUSY_TIMEOUT_MS))?;
    conn.pragma_update(None, "journal_mode", "WAL")?;
    let synchronous = match durability {
        Durability::Full => "FULL",
        Durability::Normal => "NORMAL",
    };
    conn.pragma_update(None, "synchronous", synchronous)?;
    codec::register_functions(conn)
}

impl SqliteStore {
    /// Opens (or creates) `<data_dir>/<table>.db` and its tables, fully durable.
    pub fn open(data_dir: &Path, schema: Arc<TableSchema>) -> Result<SqliteStore, StoreError> {
        SqliteStore::open_with(data_dir, schema, Durability::Full)
    }

    /// [`SqliteStore::open`] with a chosen [`Durability`].
    pub fn open_with(
        data_dir: &Path,
        schema: Arc<TableSchema>,
        durability: Durability,
    ) -> Result<SqliteStore, StoreError> {
        std::fs::create_dir_all(data_dir).map_err(|e| {
            StoreError::new(
                format!("failed to create data directory {}", data_dir.display()),
                e,
            )
        })?;
        let path = data_dir.join(format!("{}.db", schema.name));
        let context = format!("failed to open {}", path.display());

        let conn = Connection::open(&path).map_err(store_error(&context))?;
        configure(&conn, durability).map_err(store_error(&context))?;
        ddl::create_or_migrate(&conn, &schema).map_err(|e| StoreError::new(context.clone(), e))?;

        let last_ingested_at = conn
            .query_row(
                &format!(
                    "SELECT COALESCE(MAX(ingested_at), 0) FROM \"{}\"",
                    schema.name
                ),
                [],
                |r| r.get(0),
            )
            .map_err(store_error(&context))?;
        let writer = Writer {
            conn,
            insert_row: ddl::insert_row_sql(&schema),
            insert_dead_letter: ddl::insert_dead_letter_sql(&schema),
            last_ingested_at,
        };

        let flags = OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX;
        let readers = Readers::new(path.clone(), flags, READERS);
        tracing::info!(path = %path.display(), table = %schema.name, "sqlite store open");
        Ok(SqliteStore {
            schema,
            writer: Arc::new(Mutex::new(writer)),
            readers: Arc::new(readers),
            path,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[async_trait]
impl Store for SqliteStore {
    fn kind(&self) -> &'static str {
        "sqlite"
    }

    async fn write(&self, batch: &[WriteItem]) -> Result<Vec<ItemOutcome>, StoreError> {
        // Encoding happens here, on the async side; the blocking thread only binds.
        let rows: Vec<SqlRow> = batch
            .iter()
            .map(|item| codec::encode_item(&self.schema, item))
            .collect();
        let writer = Arc::clone(&self.writer);
        tokio::task::spawn_blocking(move || {
            let mut writer = writer
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner());
            writer.write(rows)
        })
        .await
        .map_err(|e| StoreError::new("sqlite writer task failed", e))?
    }

    async fn query(&self, query: &PageQuery) -> Result<Page, StoreError> {
        let plan = query::Plan::new(&self.schema, query);
        let schema = Arc::clone(&self.schema);
        let query = query.clone();
        self.readers
            .run(move |conn| plan.execute(conn, &schema, &query))
            .await?
    }

    async fn ready(&self) -> Result<(), StoreError> {
        let sql = format!("SELECT 1 FROM \"{}\" LIMIT 1", self.schema.name);
        self.readers
            .run(move |conn| {
                conn.query_row(&sql, [], |_| Ok(())).or_else(|e| match e {
                    rusqlite::Error::QueryReturnedNoRows => Ok(()),
                    e => Err(e),
                })
            })
            .await?
            .map_err(store_error("sqlite readiness check"))
    }
}

impl Writer {
    fn write(&mut self, rows: Vec<SqlRow>) -> Result<Vec<ItemOutcome>, StoreError> {
        let now = chrono::Utc::now()
            .timestamp_micros()
            .max(self.last_ingested_at);
        let tx = self
            .conn
            .transaction_with_behavior(rusqlite::TransactionBehavior::Immediate)
            .map_err(store_error("failed to begin a write transaction"))?;

        let mut outcomes = Vec::with_capacity(rows.len());
        {
            let mut insert_row = tx
                .prepare_cached(&self.insert_row)
                .map_err(store_error("prepare row insert"))?;
            let mut insert_dl = tx
                .prepare_cached(&self.insert_dead_letter)
                .map_err(store_error("prepare dead-letter insert"))?;
            for row in rows {
                let outcome = match row {
                    SqlRow::Row(mut values) => {
                        values.push(rusqlite::types::Value::Integer(now));
                        let changed = insert_row
                            .execute(rusqlite::params_from_iter(values))
                            .map_err(store_error("failed to insert a row"))?;
                        if changed == 1 {
                            ItemOutcome::Stored
                        } else {
                            ItemOutcome::Duplicate
                        }
                    }
                    SqlRow::DeadLetter(mut values) => {
                        values[0] = rusqlite::types::Value::Integer(now);
                        insert_dl
                            .execute(rusqlite::params_from_iter(values))
                            .map_err(store_error("failed to insert a dead-letter record"))?;
                        ItemOutcome::DeadLettered
                    }
                };
                outcomes.push(outcome);
            }
        }
        tx.commit()
            .map_err(store_error("failed to commit a write transaction"))?;
        self.last_ingested_at = now;
        Ok(outcomes)
    }
}
