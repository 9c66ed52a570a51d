//! Throughput into the emulator, batched versus one append per message, and `GET /data`
//! latency on it. Figures go to docs/benchmarks.md (`## BigQuery emulator`). Run with
//! `cargo test -p pipeline --test integration -- bigquery::bench --ignored --nocapture`.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use pipeline_core::store::{ItemOutcome, RowRecord, Store, WriteItem};
use pipeline_core::value::Value;

use super::emulator::Emulator;
use crate::support::{load_schema, schema_path};

fn rows(prefix: &str, n: usize) -> Vec<WriteItem> {
    (0..n)
        .map(|i| {
            WriteItem::Row(RowRecord {
                message_id: format!("{prefix}-{i:06}"),
                publish_time: 1_796_378_400_000_000 + i as i64,
                attributes: BTreeMap::from([("origin".to_owned(), "bench".to_owned())]),
                values: vec![Value::Int64(i as i64), Value::String(format!("row {i}"))],
                payload: Vec::new(),
            })
        })
        .collect()
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    sorted[((sorted.len() - 1) as f64 * p).round() as usize]
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "benchmark: run explicitly with --ignored (about a minute)"]
async fn bigquery_emulator_throughput_and_data_latency() {
    let emulator = Emulator::start();
    let schema = load_schema(&schema_path("example_table"));
    let store = emulator.store("bench", schema.clone()).await;

    // Batched: what the ingest batcher does under load, one append per batch.
    for batch_rows in [100, 500, 1000] {
        let items = rows(&format!("batched{batch_rows}"), 10 * batch_rows);
        let started = Instant::now();
        for chunk in items.chunks(batch_rows) {
            let outcomes = store.write(chunk).await.unwrap();
            assert!(outcomes.iter().all(|o| *o == ItemOutcome::Stored));
        }
        let elapsed = started.elapsed();
        println!(
            "BENCH batched: {} rows in appends of {batch_rows}: {elapsed:.2?}, {:.0} rows/s",
            items.len(),
            items.len() as f64 / elapsed.as_secs_f64()
        );
    }

    // One append per message, one after another.
    let items = rows("single", 200);
    let started = Instant::now();
    for item in &items {
        store.write(std::slice::from_ref(item)).await.unwrap();
    }
    let elapsed = started.elapsed();
    println!(
        "BENCH one append per message: {} rows: {elapsed:.2?}, {:.0} rows/s",
        items.len(),
        items.len() as f64 / elapsed.as_secs_f64()
    );

    // `GET /data` over the 16,200 rows written above, through the real router.
    let dyn_store: Arc<dyn Store> = store.clone();
    let api = data_api::build(schema, dyn_store, Default::default());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, api).await.unwrap() });
    let client = reqwest::Client::new();
    for query in ["limit=100", "limit=1000", "id.gt=500&limit=100"] {
        let mut times = Vec::new();
        for _ in 0..20 {
            let started = Instant::now();
            let response = client
                .get(format!("http://{addr}/data?{query}"))
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), 200);
            response.bytes().await.unwrap();
            times.push(started.elapsed());
        }
        times.sort();
        println!(
            "BENCH GET /data?{query} over 16,200 rows, 20 requests: \
             p50 {:.0?}, p95 {:.0?}, max {:.0?}",
            percentile(&times, 0.5),
            percentile(&times, 0.95),
            times[times.len() - 1]
        );
    }
}
