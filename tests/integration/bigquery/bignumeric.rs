//! BIGNUMERIC, which the shared contract leaves out: the emulator keeps only
//! DECIMAL(38, 18) where BigQuery keeps 76.76 digits (docs/bigquery.md).

use std::collections::BTreeMap;

use pipeline_core::query::{Order, PageQuery};
use pipeline_core::schema::FieldType;
use pipeline_core::store::{ItemOutcome, RowRecord, Store, WriteItem};
use pipeline_core::validate::parse_scalar_text;
use pipeline_core::value::Value;

use super::emulator::Emulator;
use crate::support::load_schema;

#[tokio::test(flavor = "multi_thread")]
async fn bignumeric_within_the_emulators_range_round_trips_exactly() {
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bignum.json");
    std::fs::write(&path, r#"[{"name": "v", "type": "BIGNUMERIC"}]"#).unwrap();
    let schema = load_schema(&path);
    let store = emulator.store("bignum", schema.clone()).await;

    // 20 integer and 18 fraction digits: the most the emulator holds.
    let texts = [
        "12345678901234567890.123456789012345678",
        "-0.000000000000000001",
    ];
    let items: Vec<WriteItem> = texts
        .iter()
        .enumerate()
        .map(|(i, text)| {
            WriteItem::Row(RowRecord {
                message_id: format!("b-{i}"),
                publish_time: 0,
                attributes: BTreeMap::new(),
                values: vec![decimal(text)],
                payload: Vec::new(),
            })
        })
        .collect();
    let outcomes = store.write(&items).await.unwrap();
    assert!(
        outcomes.iter().all(|o| *o == ItemOutcome::Stored),
        "{outcomes:?}"
    );

    let page = store
        .query(&PageQuery {
            columns: vec![schema.column_index("v").unwrap()],
            filters: vec![],
            order: Order::Asc,
            limit: 10,
            after: None,
        })
        .await
        .unwrap();
    let got: Vec<Value> = page.rows.into_iter().map(|r| r.values[0].clone()).collect();
    let want: Vec<Value> = texts.iter().map(|t| decimal(t)).collect();
    assert_eq!(got, want);
}

fn decimal(text: &str) -> Value {
    parse_scalar_text(FieldType::BigNumeric, text).unwrap()
}
