//! What survives: kill -9, SIGTERM under load, and a store that stops answering.

use std::io::Write;
use std::time::Duration;

use serde_json::json;

use crate::support::process::{PIPELINE, Up, publish};
use crate::support::{TestApp, repo_root};

fn ndjson(n: usize) -> tempfile::NamedTempFile {
    let mut file = tempfile::Builder::new()
        .suffix(".ndjson")
        .tempfile()
        .unwrap();
    for i in 0..n {
        writeln!(file, "{}", json!({"id": i, "name": format!("row {i}")})).unwrap();
    }
    file.flush().unwrap();
    file
}

async fn count_rows(api: &str) -> usize {
    let client = reqwest::Client::new();
    let mut total = 0;
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("http://{api}/data?limit=1000&fields=message_id");
        if let Some(t) = &token {
            url.push_str(&format!("&page_token={t}"));
        }
        let page: serde_json::Value = client.get(url).send().await.unwrap().json().await.unwrap();
        total += page["rows"].as_array().unwrap().len();
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return total,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn acknowledged_rows_survive_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let schema = repo_root().join("schemas/example_table.json");
    let file = ndjson(3000);

    let mut up = Up::start(&schema, dir.path(), &[]);
    let summary = publish(file.path(), &up.push_url(), &["--id-prefix", "k"]);
    assert_eq!(summary["stored"], 3000);
    up.kill9();

    let up = Up::start(&schema, dir.path(), &[]);
    assert_eq!(count_rows(&up.api).await, 3000);
    let again = publish(file.path(), &up.push_url(), &["--id-prefix", "k"]);
    assert_eq!(again["duplicates"], 3000, "{again}");
}

#[tokio::test(flavor = "multi_thread")]
async fn sigterm_under_load_drains_quickly_and_loses_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let schema = repo_root().join("schemas/example_table.json");
    let file = ndjson(20_000);

    let mut up = Up::start(&schema, dir.path(), &[]);
    // A publisher that keeps going while the service stops; it will see failures.
    let mut publisher = std::process::Command::new(PIPELINE)
        .arg("publish")
        .arg(file.path())
        .args([
            "--url",
            &up.push_url(),
            "--json",
            "--id-prefix",
            "t",
            "--max-attempts",
            "1",
        ])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(400));
    let took = up.terminate(Duration::from_secs(10));
    assert!(took < Duration::from_secs(10));
    let _ = publisher.wait();

    // Whatever was acknowledged is there; publishing again (as Pub/Sub would redeliver
    // what was not acknowledged) completes the set, each row once.
    let up = Up::start(&schema, dir.path(), &[]);
    let summary = publish(file.path(), &up.push_url(), &["--id-prefix", "t"]);
    assert_eq!(summary["failed"], 0);
    assert_eq!(count_rows(&up.api).await, 20_000);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_locked_store_gets_503_and_nothing_is_dead_lettered() {
    let app = TestApp::start("example_table").await;
    assert_eq!(
        app.push_json("before", &json!({"id": 1})).await.status(),
        204
    );

    // Another process-like connection holds the write lock: the store is unavailable.
    let blocker = rusqlite::Connection::open(app.store.path()).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let response = app.push_json("during", &json!({"id": 2})).await;
    assert_eq!(response.status(), 503);
    assert!(response.headers().contains_key("retry-after"));
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);

    assert!(
        app.dead_letters().is_empty(),
        "a store fault is not the message's fault"
    );
    let retried = app.push_json("during", &json!({"id": 2})).await;
    assert_eq!(retried.status(), 204);
    assert_eq!(app.row_count(), 2);
}
