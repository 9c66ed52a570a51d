//! Test helpers: start the services, push messages, read pages, inspect the store.

#![allow(dead_code)]

pub mod process;
pub mod tokens;

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use base64::Engine;
use pipeline_core::schema::TableSchema;
use pipeline_core::store::Store;
use pipeline_store_sqlite::SqliteStore;
use serde_json::{Value, json};

/// The repository root (the tests read `schemas/` from it).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .unwrap()
}

pub fn schema_path(table: &str) -> PathBuf {
    repo_root().join("schemas").join(format!("{table}.json"))
}

pub fn load_schema(path: &Path) -> Arc<TableSchema> {
    Arc::new(TableSchema::load(path, Some(&repo_root().join("schemas"))).unwrap())
}

/// The flights CSV: `FLIGHTS_CSV`, or `../shared/data/flights_scl_2017.csv` beside the
/// repository. With `FLIGHTS_CSV_REQUIRED=1` (set by `.ci/run`) its absence fails the
/// test; elsewhere the test says plainly that it did not run.
pub fn flights_csv() -> Option<PathBuf> {
    let path = std::env::var_os("FLIGHTS_CSV")
        .map(PathBuf::from)
        .unwrap_or_else(|| repo_root().join("../shared/data/flights_scl_2017.csv"));
    if path.is_file() {
        return Some(path);
    }
    if std::env::var("FLIGHTS_CSV_REQUIRED").is_ok_and(|v| v == "1") {
        panic!(
            "the flights file is missing at {} (set FLIGHTS_CSV)",
            path.display()
        );
    }
    eprintln!(
        "NOT RUN: the flights file is missing at {} (set FLIGHTS_CSV)",
        path.display()
    );
    None
}

/// Both services in this process, over one SQLite store in a temporary folder.
pub struct TestApp {
    pub ingest: SocketAddr,
    pub api: SocketAddr,
    pub schema: Arc<TableSchema>,
    pub store: Arc<SqliteStore>,
    pub dir: tempfile::TempDir,
    pub client: reqwest::Client,
}

impl TestApp {
    pub async fn start(table: &str) -> TestApp {
        TestApp::start_with(&schema_path(table), ingest::IngestOptions::default()).await
    }

    pub async fn start_with(schema_file: &Path, options: ingest::IngestOptions) -> TestApp {
        let dir = tempfile::tempdir().unwrap();
        let schema = load_schema(schema_file);
        let store = Arc::new(SqliteStore::open(dir.path(), schema.clone()).unwrap());
        let dyn_store: Arc<dyn Store> = store.clone();

        let ingest = ingest::build(schema.clone(), dyn_store.clone(), options);
        let api = data_api::build(schema.clone(), dyn_store, Default::default());
        let ingest_addr = serve(ingest.router).await;
        let api_addr = serve(api).await;

        let client = reqwest::Client::new();
        TestApp {
            ingest: ingest_addr,
            api: api_addr,
            schema,
            store,
            dir,
            client,
        }
    }

    pub fn push_url(&self) -> String {
        format!("http://{}/pubsub/push", self.ingest)
    }

    /// Pushes a raw body to `/pubsub/push`.
    pub async fn push_body(&self, body: impl Into<reqwest::Body>) -> reqwest::Response {
        self.client
            .post(self.push_url())
            .body(body)
            .send()
            .await
            .unwrap()
    }

    /// Pushes a wrapped message whose data is `data` (base64-encoded here).
    pub async fn push_data(&self, id: &str, data: &[u8]) -> reqwest::Response {
        let b64 = base64::engine::general_purpose::STANDARD.encode(data);
        self.push_body(envelope(id, json!(b64)).to_string()).await
    }

    pub async fn push_json(&self, id: &str, value: &Value) -> reqwest::Response {
        self.push_data(id, value.to_string().as_bytes()).await
    }

    /// `GET /data?<query>`: the status and the JSON body.
    pub async fn data(&self, query: &str) -> (u16, Value) {
        let url = format!("http://{}/data?{query}", self.api);
        let response = self.client.get(url).send().await.unwrap();
        let status = response.status().as_u16();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    /// Every row, following page tokens.
    pub async fn all_rows(&self, query: &str) -> Vec<Value> {
        let mut rows = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let q = match &token {
                Some(t) => format!("{query}&page_token={t}"),
                None => query.to_owned(),
            };
            let (status, page) = self.data(&q).await;
            assert_eq!(status, 200, "{page}");
            rows.extend(page["rows"].as_array().unwrap().iter().cloned());
            match page["next_page_token"].as_str() {
                Some(t) => token = Some(t.to_owned()),
                None => return rows,
            }
        }
    }

    /// The dead-letter table, read straight from the SQLite file.
    pub fn dead_letters(&self) -> Vec<BTreeMap<String, Value>> {
        sqlite_rows(self.store.path(), &self.schema.dead_letter_table())
    }

    pub fn row_count(&self) -> i64 {
        let conn = rusqlite::Connection::open(self.store.path()).unwrap();
        let sql = format!("SELECT COUNT(*) FROM \"{}\"", self.schema.name);
        conn.query_row(&sql, [], |r| r.get(0)).unwrap()
    }
}

/// A wrapped push envelope with `data` as given (a JSON string, null, or absent).
pub fn envelope(id: &str, data: Value) -> Value {
    let mut message = json!({
        "attributes": {"origin": "test"},
        "messageId": id,
        "message_id": id,
        "publishTime": "2026-12-04T10:00:00.123456789Z",
        "publish_time": "2026-12-04T10:00:00.123456789Z",
    });
    if !data.is_null() {
        message["data"] = data;
    }
    json!({ "message": message, "subscription": "projects/p/subscriptions/s" })
}

pub fn sqlite_rows(db: &Path, table: &str) -> Vec<BTreeMap<String, Value>> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare(&format!("SELECT * FROM \"{table}\"")).unwrap();
    let names: Vec<String> = stmt.column_names().iter().map(|s| s.to_string()).collect();
    stmt.query_map([], |row| {
        let mut map = BTreeMap::new();
        for (i, name) in names.iter().enumerate() {
            let value = match row.get_ref(i)? {
                rusqlite::types::ValueRef::Null => Value::Null,
                rusqlite::types::ValueRef::Integer(v) => json!(v),
                rusqlite::types::ValueRef::Real(v) => json!(v),
                rusqlite::types::ValueRef::Text(v) => json!(String::from_utf8_lossy(v)),
                rusqlite::types::ValueRef::Blob(v) => json!(String::from_utf8_lossy(v)),
            };
            map.insert(name.clone(), value);
        }
        Ok(map)
    })
    .unwrap()
    .map(Result::unwrap)
    .collect()
}

async fn serve(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    addr
}
