//! Rows the emulator refuses one by one: those are dead-lettered, the rest land.

use std::collections::BTreeMap;
use std::sync::Arc;

use pipeline_core::batch::{BatchConfig, Batcher};
use pipeline_core::query::{Order, PageQuery};
use pipeline_core::store::{ItemOutcome, RowRecord, Store, WriteItem};
use pipeline_core::value::Value;

use super::emulator::Emulator;
use crate::support::load_schema;

const SCHEMA: &str = r#"[{"name": "name", "type": "STRING"}, {"name": "doc", "type": "JSON"}]"#;

fn row(id: &str, doc: &str) -> WriteItem {
    WriteItem::Row(RowRecord {
        message_id: id.to_owned(),
        publish_time: 1_796_378_400_000_000,
        attributes: BTreeMap::new(),
        values: vec![Value::String(id.to_owned()), Value::Json(doc.to_owned())],
        payload: format!(r#"{{"name":"{id}"}}"#).into_bytes(),
    })
}

// Current-thread on purpose: the three submissions below are queued in one poll, before
// the writer task runs, so they form one batch.
#[tokio::test]
async fn a_row_the_emulator_rejects_is_dead_lettered_and_the_others_land() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rejects.json");
    std::fs::write(&path, SCHEMA).unwrap();
    let schema = load_schema(&path);
    let store = emulator.store("rejects", schema.clone()).await;

    // The validator never lets text that is not JSON into a JSON column; this row is
    // built by hand to stand for any row BigQuery refuses on its own grounds.
    let items = [
        row("r-0", "{}"),
        row("r-1", "not json"),
        row("r-2", r#"{"a":1}"#),
    ];
    let dyn_store: Arc<dyn Store> = store.clone();
    let (batcher, _writer) = Batcher::spawn(dyn_store, BatchConfig::default());
    let (a, b, c) = tokio::join!(
        batcher.submit(items[0].clone()),
        batcher.submit(items[1].clone()),
        batcher.submit(items[2].clone()),
    );
    assert_eq!(a.unwrap(), ItemOutcome::Stored);
    assert_eq!(b.unwrap(), ItemOutcome::DeadLettered);
    assert_eq!(c.unwrap(), ItemOutcome::Stored);

    let page = store
        .query(&PageQuery {
            columns: vec![schema.column_index("name").unwrap()],
            filters: vec![],
            order: Order::Asc,
            limit: 10,
            after: None,
        })
        .await
        .unwrap();
    let ids: Vec<&str> = page
        .rows
        .iter()
        .map(|r| r.cursor.message_id.as_str())
        .collect();
    assert_eq!(ids, ["r-0", "r-2"]);

    // BigQuery appends nothing of a batch with row errors; the emulator keeps the good
    // rows of it, so after the retry without the bad row they are there twice (see
    // docs/bigquery.md). The read-side de-duplication above is what hides that; if this
    // count changes, the emulator changed and that section needs another look.
    let raw = super::query_rest(&emulator, "SELECT COUNT(*) FROM rejects.rejects").await;
    assert_eq!(raw[0][0], "4", "raw copies in the table");

    let letters = super::query_rest(
        &emulator,
        "SELECT message_id, reason, detail, target_table FROM rejects.rejects_dead_letter",
    )
    .await;
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0][0], "r-1");
    assert_eq!(letters[0][1], "rejected_by_store");
    assert_eq!(letters[0][3], "rejects");
    assert!(
        letters[0][2]
            .as_str()
            .unwrap()
            .contains("BigQuery rejected"),
        "{letters:?}"
    );
}
