//! Publish-to-visible latency and sustained rate through the emulator, push and pull.
//! Ignored by default (it measures, it does not check); run it explicitly:
//!
//! ```sh
//! cargo test --release -p pipeline --test integration -- pubsub::bench --ignored \
//!     --nocapture --test-threads 1
//! ```
//!
//! Latency is `ingested_at - publish_time` of each row: from Pub/Sub accepting the
//! message to the row being committed, which is when the SQLite-backed `/data` can
//! show it. Messages are paced (`PACED_RATE`) so the figure is latency, not queueing.
//! The rate is a burst of `BURST` messages published at once, first publish to last
//! commit.

use std::time::{Duration, Instant};

use pipeline_pubsub::client::model::Message;

use super::emulator::{Emulator, db, free_port, row_count, settings, up_on, wait_for_rows};
use crate::support::repo_root;

const PACED: usize = 2_000;
const PACED_RATE: u64 = 200;
const BURST: usize = 10_000;

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run explicitly (see the module docs); it prints figures"]
async fn bench_push() {
    measure(true).await;
}

#[tokio::test(flavor = "multi_thread")]
#[ignore = "a benchmark: run explicitly (see the module docs); it prints figures"]
async fn bench_pull() {
    measure(false).await;
}

async fn measure(push: bool) {
    let emulator = Emulator::start().expect("the benchmark needs the emulator");
    let dir = tempfile::tempdir().unwrap();
    let schema = repo_root().join("schemas/example_table.json");
    let settings = settings(1, 5, 10);
    let port = free_port();
    let url = format!("http://127.0.0.1:{port}/pubsub/push");
    let (names, _up) = if push {
        let names = emulator.setup("bench-push", Some(&url), settings.path());
        (names, up_on(&schema, dir.path(), port, &[]))
    } else {
        let names = emulator.setup("bench-pull", None, settings.path());
        let args = [
            "--pull-subscription",
            names.subscription.as_str(),
            "--pubsub-endpoint",
            emulator.endpoint.as_str(),
        ];
        let up = up_on(&schema, dir.path(), 0, &args);
        (names, up)
    };
    let limit = Duration::from_secs(60);
    let publisher = pipeline_pubsub::connect::publisher(&emulator.endpoint(), &names.topic, limit)
        .await
        .unwrap();
    let message =
        |i: usize| Message::new().set_data(format!("{{\"id\": {i}, \"name\": \"bench {i}\"}}"));

    // Paced: one message every 1/PACED_RATE s, each publish awaited in the background.
    let mut confirms = Vec::with_capacity(PACED);
    let gap = Duration::from_micros(1_000_000 / PACED_RATE);
    let mut tick = tokio::time::interval(gap);
    for i in 0..PACED {
        tick.tick().await;
        confirms.push(publisher.publish(message(i)));
    }
    for confirm in confirms {
        confirm.await.unwrap();
    }
    let landed = wait_for_rows(
        dir.path(),
        "example_table",
        PACED as i64,
        Duration::from_secs(60),
    );
    assert_eq!(landed, PACED as i64);
    let mut lags = latencies_ms(dir.path());
    lags.sort_by(f64::total_cmp);
    let pct = |p: f64| lags[((lags.len() as f64 * p) as usize).min(lags.len() - 1)];

    // Burst: everything at once; the rate is first publish to last commit.
    let started = Instant::now();
    let confirms: Vec<_> = (PACED..PACED + BURST)
        .map(|i| publisher.publish(message(i)))
        .collect();
    for confirm in confirms {
        confirm.await.unwrap();
    }
    let total = (PACED + BURST) as i64;
    let landed = wait_for_rows(dir.path(), "example_table", total, Duration::from_secs(180));
    let seconds = started.elapsed().as_secs_f64();
    assert_eq!(landed, total);
    assert_eq!(row_count(dir.path(), "example_table"), total);

    println!(
        "BENCH pubsub-{}: paced {PACED} at {PACED_RATE}/s: publish-to-visible p50 {:.0} ms, \
         p99 {:.0} ms, max {:.0} ms; burst {BURST}: {:.1} s, {:.0} msg/s",
        if push { "push" } else { "pull" },
        pct(0.50),
        pct(0.99),
        lags[lags.len() - 1],
        seconds,
        BURST as f64 / seconds
    );
}

/// `ingested_at - publish_time` of every row, in milliseconds.
fn latencies_ms(dir: &std::path::Path) -> Vec<f64> {
    let conn = rusqlite::Connection::open(db(dir, "example_table")).unwrap();
    let mut stmt = conn
        .prepare("SELECT ingested_at - publish_time FROM example_table")
        .unwrap();
    stmt.query_map([], |r| r.get::<_, i64>(0))
        .unwrap()
        .map(|v| v.unwrap() as f64 / 1000.0)
        .collect()
}
