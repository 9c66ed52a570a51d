//! One app (ingest + data-api in process) over either store, for the contract suite.

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use pipeline_core::schema::TableSchema;
use pipeline_core::store::Store;
use serde_json::{Value, json};

use crate::bigquery::emulator::Emulator;
use crate::support::{envelope, load_schema};

/// Every column type the stores must keep exactly.
pub const TYPES_SCHEMA: &str = r#"[
  {"name": "name", "type": "STRING", "mode": "REQUIRED"},
  {"name": "big", "type": "INT64"},
  {"name": "amount", "type": "NUMERIC"},
  {"name": "at", "type": "TIMESTAMP"},
  {"name": "local", "type": "DATETIME"},
  {"name": "day", "type": "DATE"},
  {"name": "clock", "type": "TIME"},
  {"name": "doc", "type": "JSON"},
  {"name": "blob", "type": "BYTES"},
  {"name": "flag", "type": "BOOL"},
  {"name": "ratio", "type": "FLOAT64"},
  {"name": "tags", "type": "STRING", "mode": "REPEATED"},
  {"name": "origin", "type": "RECORD",
   "fields": [{"name": "code", "type": "STRING"}, {"name": "at", "type": "TIMESTAMP"}]},
  {"name": "crew", "type": "RECORD", "mode": "REPEATED",
   "fields": [{"name": "who", "type": "STRING"}, {"name": "hours", "type": "NUMERIC"}]}
]"#;

pub struct App {
    pub ingest: SocketAddr,
    pub api: SocketAddr,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
    _emulator: Option<Emulator>,
}

pub enum Kind {
    Sqlite,
    BigQuery,
}

/// Writes the types schema as `<dir>/contract_types.json` and loads it.
fn types_schema(dir: &Path) -> Arc<TableSchema> {
    let path = dir.join("contract_types.json");
    std::fs::write(&path, TYPES_SCHEMA).unwrap();
    load_schema(&path)
}

impl App {
    pub async fn start(kind: Kind) -> App {
        let dir = tempfile::tempdir().unwrap();
        let schema = types_schema(dir.path());
        let mut options = ingest::IngestOptions::default();
        let (store, emulator): (Arc<dyn Store>, _) = match kind {
            Kind::Sqlite => {
                let store = pipeline_store_sqlite::SqliteStore::open(dir.path(), schema.clone());
                (Arc::new(store.unwrap()), None)
            }
            Kind::BigQuery => {
                let emulator = Emulator::start();
                let store = emulator.store("contract", schema.clone()).await;
                options.batch.max_concurrent_writes =
                    pipeline_store_bigquery::MAX_CONCURRENT_WRITES;
                (store as Arc<dyn Store>, Some(emulator))
            }
        };
        App::serve(schema, store, options, dir, emulator).await
    }

    pub async fn serve(
        schema: Arc<TableSchema>,
        store: Arc<dyn Store>,
        options: ingest::IngestOptions,
        dir: tempfile::TempDir,
        emulator: Option<Emulator>,
    ) -> App {
        let ingest = ingest::build(schema.clone(), store.clone(), options);
        let api = data_api::build(schema.clone(), store.clone(), Default::default());
        App {
            ingest: serve(ingest.router).await,
            api: serve(api).await,
            client: reqwest::Client::new(),
            _dir: dir,
            _emulator: emulator,
        }
    }

    /// Pushes `value` as the data of a wrapped message; returns the status.
    pub async fn push(&self, id: &str, value: &Value) -> u16 {
        use base64::Engine;
        let data = base64::engine::general_purpose::STANDARD.encode(value.to_string());
        self.client
            .post(format!("http://{}/pubsub/push", self.ingest))
            .body(envelope(id, json!(data)).to_string())
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    }

    pub async fn data(&self, query: &str) -> (u16, Value) {
        let url = format!("http://{}/data?{query}", self.api);
        let response = self.client.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every page of `query`, as (rows of each page).
    pub async fn pages(&self, query: &str) -> Vec<Vec<Value>> {
        self.pages_from(query, None).await
    }

    /// The pages of `query` that follow `token` (all of them without one).
    pub async fn pages_from(&self, query: &str, mut token: Option<String>) -> Vec<Vec<Value>> {
        let mut pages = Vec::new();
        loop {
            let q = match &token {
                Some(t) => format!("{query}&page_token={t}"),
                None => query.to_owned(),
            };
            let (status, page) = self.data(&q).await;
            assert_eq!(status, 200, "{q}: {page}");
            pages.push(page["rows"].as_array().unwrap().clone());
            match page["next_page_token"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => return pages,
            }
        }
    }
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}
