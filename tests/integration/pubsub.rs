//! End to end through Google's Pub/Sub emulator: publish to a topic, Pub/Sub pushes
//! (or ingest pulls), rows appear in `GET /data` exactly once, through crashes,
//! outages and redelivery. Each test starts its own emulator on a free port.

mod bench;
mod emulator;

use std::collections::HashSet;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::support::{flights_csv, repo_root};
use emulator::{Emulator, free_port, row_count, settings, up_on, wait_for_rows};

const FLIGHTS: usize = 10_000;
/// Longest wait for a stream of messages to land. The emulator pushes ~400/s to a debug
/// build, and after a pull-mode kill -9 its last 1,000 redeliveries took 40 s.
const LAND_LIMIT: Duration = Duration::from_secs(180);

fn flights_schema() -> std::path::PathBuf {
    repo_root().join("schemas/flights.json")
}

fn example_schema() -> std::path::PathBuf {
    repo_root().join("schemas/example_table.json")
}

/// Every row of `/data` as (message id, `record` attribute), following page tokens.
async fn rows(api: &str) -> Vec<(String, String)> {
    let client = reqwest::Client::new();
    let mut out = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("http://{api}/data?limit=1000&fields=message_id,attributes");
        if let Some(t) = &token {
            url.push_str(&format!("&page_token={t}"));
        }
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        for row in page["rows"].as_array().unwrap() {
            let attributes = match &row["attributes"] {
                Value::String(s) => serde_json::from_str(s).unwrap(),
                other => other.clone(),
            };
            let record = attributes["record"].as_str().unwrap_or("").to_owned();
            out.push((row["message_id"].as_str().unwrap().to_owned(), record));
        }
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return out,
        }
    }
}

/// Waits for `n` rows, lets redeliveries settle, then checks `/data` holds each
/// published record exactly once.
async fn assert_exactly_once(api: &str, data_dir: &Path, table: &str, n: usize) {
    let landed = wait_for_rows(data_dir, table, n as i64, LAND_LIMIT);
    assert_eq!(landed, n as i64, "rows landed within {LAND_LIMIT:?}");
    // A late redelivery would show up as an extra row (if de-duplication failed).
    tokio::time::sleep(Duration::from_secs(2)).await;
    let rows = rows(api).await;
    assert_eq!(rows.len(), n, "rows in /data");
    let ids: HashSet<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids.len(), n, "a message id appears twice in /data");
    let records: HashSet<&str> = rows.iter().map(|(_, r)| r.as_str()).collect();
    assert_eq!(
        records.len(),
        n,
        "a published record was stored twice or lost"
    );
}

/// The CSV's first `n` records as published by `pipeline publish --topic`.
fn publish_flights(emulator: &Emulator, csv: &Path, topic: &str) {
    let summary = emulator.publish(csv, topic, &["--limit", &FLIGHTS.to_string()]);
    assert_eq!(summary["published"], FLIGHTS as u64, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_push_stores_ten_thousand_flights_once_each() {
    let (Some(csv), Some(emulator)) = (flights_csv(), Emulator::start()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let push = format!("http://127.0.0.1:{port}/pubsub/push");
    let settings = settings(1, 5, 10);
    let names = emulator.setup("flights-push", Some(&push), settings.path());
    let up = up_on(&flights_schema(), dir.path(), port, &[]);

    publish_flights(&emulator, &csv, &names.topic);
    assert_exactly_once(&up.api, dir.path(), "flights", FLIGHTS).await;
    emulator.assert_nothing_dead_lettered(&names).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_push_survives_kill_9_mid_stream_without_loss_or_doubles() {
    survives_kill_9(Delivery::Push).await;
}

#[derive(PartialEq)]
enum Delivery {
    Push,
    Pull,
}

/// Publishes the flights, kills ingest with SIGKILL once 2,000 rows have landed,
/// restarts it over the same store, and checks that every message lands exactly once
/// and none reaches the dead-letter topic.
async fn survives_kill_9(delivery: Delivery) {
    let (Some(csv), Some(emulator)) = (flights_csv(), Emulator::start()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(1, 5, 20);
    let (name, port) = match delivery {
        Delivery::Push => ("flights-push-kill", free_port()),
        Delivery::Pull => ("flights-pull-kill", 0),
    };
    let push = format!("http://127.0.0.1:{port}/pubsub/push");
    let push = (delivery == Delivery::Push).then_some(push.as_str());
    let names = emulator.setup(name, push, settings.path());
    // Emulator 0.8.20 loses messages that fail twice under a retry policy; deliveries
    // that fail while ingest is down must come back (docs/pubsub.md says what was found).
    emulator.clear_retry_policy(&names).await;
    let args: Vec<&str> = match delivery {
        Delivery::Push => vec![],
        Delivery::Pull => vec![
            "--pull-subscription",
            &names.subscription,
            "--pubsub-endpoint",
            &emulator.endpoint,
        ],
    };
    let mut up = up_on(&flights_schema(), dir.path(), port, &args);

    publish_flights(&emulator, &csv, &names.topic);
    let before = wait_for_rows(dir.path(), "flights", 2_000, LAND_LIMIT);
    up.kill9();
    assert!(
        before < FLIGHTS as i64,
        "killed after the stream ended ({before} rows)"
    );
    // Down for a moment: pushes fail and come back when their ack deadline lapses;
    // messages the dead process had pulled come back when their leases (10 s) lapse.
    std::thread::sleep(Duration::from_secs(1));

    let up = up_on(&flights_schema(), dir.path(), port, &args);
    assert_exactly_once(&up.api, dir.path(), "flights", FLIGHTS).await;
    emulator.assert_nothing_dead_lettered(&names).await;
}

/// An NDJSON file of `n` example_table rows (`record` is the line number).
fn ndjson(lines: impl IntoIterator<Item = String>) -> tempfile::NamedTempFile {
    let file = tempfile::Builder::new()
        .suffix(".ndjson")
        .tempfile()
        .unwrap();
    let text: Vec<String> = lines.into_iter().collect();
    std::fs::write(file.path(), text.join("\n") + "\n").unwrap();
    file
}

fn example_rows(n: usize) -> tempfile::NamedTempFile {
    ndjson((0..n).map(|i| format!("{{\"id\": {i}, \"name\": \"row {i}\"}}")))
}

/// The sum of the `/metrics` samples of `name` whose labels contain every `needle`.
async fn metric(ingest: &str, name: &str, needles: &[&str]) -> f64 {
    let text = reqwest::get(format!("http://{ingest}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .filter(|l| l.starts_with(name) && needles.iter().all(|n| l.contains(n)))
        .filter_map(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
        .sum()
}

async fn push_503s(ingest: &str) -> f64 {
    let labels = ["route=\"/pubsub/push\"", "status_class=\"5xx\""];
    metric(ingest, "http_server_requests_total", &labels).await
}

async fn dead_lettered_by_ingest(ingest: &str) -> f64 {
    let labels = ["outcome=\"dead_lettered\""];
    metric(ingest, "ingest_messages_total", &labels).await
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_redelivers_while_the_store_is_locked_and_nothing_is_dead_lettered() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    const N: usize = 2_000;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let push = format!("http://127.0.0.1:{port}/pubsub/push");
    // Attempts to spare: the outage lasts a few backoff rounds.
    let settings = settings(1, 2, 30);
    let names = emulator.setup("locked", Some(&push), settings.path());
    let up = up_on(&example_schema(), dir.path(), port, &[]);

    let file = example_rows(N);
    let blocker = rusqlite::Connection::open(emulator::db(dir.path(), "example_table")).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let summary = emulator.publish(file.path(), &names.topic, &[]);
    assert_eq!(summary["published"], N as u64, "{summary}");

    // The store stays unavailable until ingest has answered 503 and Pub/Sub has had
    // to come back with the same messages.
    let started = Instant::now();
    while push_503s(&up.ingest).await < 1.0 {
        assert!(
            started.elapsed() < Duration::from_secs(40),
            "ingest never answered 503"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    tokio::time::sleep(Duration::from_secs(3)).await;
    assert_eq!(row_count(dir.path(), "example_table"), 0);
    blocker.execute_batch("COMMIT").unwrap();
    drop(blocker);

    assert_exactly_once(&up.api, dir.path(), "example_table", N).await;
    assert_eq!(dead_lettered_by_ingest(&up.ingest).await, 0.0);
    emulator.assert_nothing_dead_lettered(&names).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_sigterm_under_load_drains_within_10_s_and_loses_nothing() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    const N: usize = 5_000;
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let push = format!("http://127.0.0.1:{port}/pubsub/push");
    let settings = settings(1, 5, 20);
    let names = emulator.setup("sigterm", Some(&push), settings.path());
    let mut up = up_on(&example_schema(), dir.path(), port, &[]);

    let file = example_rows(N);
    emulator.publish(file.path(), &names.topic, &[]);
    let before = wait_for_rows(dir.path(), "example_table", 1_000, LAND_LIMIT);
    let took = up.terminate(Duration::from_secs(10));
    assert!(took < Duration::from_secs(10), "exit took {took:?}");
    assert!(
        before < N as i64,
        "stopped after the stream ended ({before} rows)"
    );

    let up = up_on(&example_schema(), dir.path(), port, &[]);
    assert_exactly_once(&up.api, dir.path(), "example_table", N).await;
    emulator.assert_nothing_dead_lettered(&names).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_poison_message_is_dead_lettered_once_with_its_reason() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let push = format!("http://127.0.0.1:{port}/pubsub/push");
    let settings = settings(1, 2, 5);
    let names = emulator.setup("poison", Some(&push), settings.path());
    let up = up_on(&example_schema(), dir.path(), port, &[]);

    let file = ndjson([
        r#"{"id": 1, "name": "good"}"#.to_owned(),
        "this is not json".to_owned(),
        r#"{"id": 3, "name": "good too"}"#.to_owned(),
    ]);
    emulator.publish(file.path(), &names.topic, &[]);
    assert_eq!(wait_for_rows(dir.path(), "example_table", 2, LAND_LIMIT), 2);

    // Long enough for several redeliveries, had the poison message been nacked.
    tokio::time::sleep(Duration::from_secs(6)).await;
    let letters = crate::support::sqlite_rows(
        &emulator::db(dir.path(), "example_table"),
        "example_table_dead_letter",
    );
    assert_eq!(letters.len(), 1, "{letters:?}");
    assert_eq!(letters[0]["reason"], "invalid_json", "{:?}", letters[0]);
    assert_eq!(
        dead_lettered_by_ingest(&up.ingest).await,
        1.0,
        "the poison message was delivered more than once"
    );
    let dead = emulator.dead_lettered(&names, Duration::from_secs(2)).await;
    assert!(
        dead.is_empty(),
        "an acknowledged poison message reached the topic"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_a_message_nobody_answers_reaches_the_dead_letter_topic() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    // Nothing listens on this port: every push fails until the attempts run out.
    let push = format!("http://127.0.0.1:{}/pubsub/push", free_port());
    let settings = settings(1, 2, 5);
    let names = emulator.setup("unanswered", Some(&push), settings.path());

    let file = ndjson([r#"{"id": 7, "name": "nobody home"}"#.to_owned()]);
    emulator.publish(file.path(), &names.topic, &[]);
    let dead = emulator
        .dead_lettered(&names, Duration::from_secs(40))
        .await;
    assert_eq!(dead.len(), 1, "dead-lettered messages");
    let message = &dead[0];
    assert_eq!(&message.data[..], br#"{"id": 7, "name": "nobody home"}"#);
    assert_eq!(message.attributes["record"], "1");
    let attribute = |key: &str| message.attributes.get(key).cloned().unwrap_or_default();
    assert_eq!(
        attribute("CloudPubSubDeadLetterSourceSubscription"),
        "unanswered-sub",
        "{:?}",
        message.attributes
    );
    let attempts: u32 = attribute("CloudPubSubDeadLetterSourceDeliveryCount")
        .parse()
        .unwrap_or(0);
    assert!(attempts >= 5, "{:?}", message.attributes);
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_pull_stores_ten_thousand_flights_once_each() {
    let (Some(csv), Some(emulator)) = (flights_csv(), Emulator::start()) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let settings = settings(1, 5, 10);
    let names = emulator.setup("flights-pull", None, settings.path());
    let pull = [
        "--pull-subscription",
        &names.subscription,
        "--pubsub-endpoint",
    ];
    let args = [&pull[..], &[emulator.endpoint.as_str()]].concat();
    let up = up_on(&flights_schema(), dir.path(), 0, &args);

    publish_flights(&emulator, &csv, &names.topic);
    assert_exactly_once(&up.api, dir.path(), "flights", FLIGHTS).await;
    emulator.assert_nothing_dead_lettered(&names).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_pull_survives_kill_9_mid_stream_without_loss_or_doubles() {
    survives_kill_9(Delivery::Pull).await;
}

/// `pipeline up` with `args`; waits up to `limit` for it to exit and returns its exit
/// status and standard error (killing it, and failing, if it runs on).
fn up_exits(args: &[&str], limit: Duration) -> (std::process::ExitStatus, String) {
    let dir = tempfile::tempdir().unwrap();
    let mut child = std::process::Command::new(crate::support::process::PIPELINE)
        .args(["up", "--ingest-port", "0", "--api-port", "0", "--schema"])
        .arg(example_schema())
        .arg("--data-dir")
        .arg(dir.path())
        .args(args)
        .env("PIPELINE_LOG_FORMAT", "text")
        .env("RUST_LOG", "error")
        .env("RUST_BACKTRACE", "0")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            child.kill().unwrap();
            panic!("pipeline up still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    (output.status, stderr)
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_pull_that_cannot_start_stops_the_whole_process() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let missing = format!("projects/{}/subscriptions/nosuch", emulator::PROJECT);
    let args = [
        "--pull-subscription",
        &missing,
        "--pubsub-endpoint",
        &emulator.endpoint,
    ];
    let (status, stderr) = up_exits(&args, Duration::from_secs(30));
    assert!(!status.success(), "exited successfully: {stderr}");
    assert!(stderr.contains("nosuch"), "{stderr}");

    let args = [
        "--pull-subscription",
        "nosuch",
        "--pubsub-endpoint",
        &emulator.endpoint,
    ];
    let (status, stderr) = up_exits(&args, Duration::from_secs(10));
    assert!(!status.success(), "exited successfully: {stderr}");
    assert!(
        stderr.contains("--pull-subscription is not valid"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_setup_refuses_a_subscription_that_reads_another_topic() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let settings = settings(1, 5, 5);
    let first = emulator.setup("first", None, settings.path());
    let other = format!("projects/{}/topics/other", emulator::PROJECT);
    let output = std::process::Command::new(crate::support::process::PIPELINE)
        .args(["pubsub", "setup", "--topic", &other])
        .args(["--subscription", &first.subscription])
        .args(["--pubsub-endpoint", &emulator.endpoint])
        .arg("--settings")
        .arg(settings.path())
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!output.status.success(), "setup succeeded: {stderr}");
    assert!(stderr.contains("already exists on topic"), "{stderr}");

    // Nothing of the first subscription changed: its dead letters still go to its own
    // topic's dead-letter topic.
    let admin = pipeline_pubsub::connect::subscription_admin(&emulator.endpoint())
        .await
        .unwrap();
    let now = admin
        .get_subscription()
        .set_subscription(&first.subscription)
        .send()
        .await
        .unwrap();
    assert_eq!(now.topic, first.topic);
    let dead_letter_topic = now.dead_letter_policy.unwrap().dead_letter_topic;
    assert_eq!(dead_letter_topic, format!("{}-dead-letter", first.topic));
}

#[test]
fn publish_to_an_endpoint_nobody_answers_fails_within_its_timeout() {
    let nobody = format!("http://127.0.0.1:{}", free_port());
    let file = example_rows(3);
    let started = Instant::now();
    let output = std::process::Command::new(crate::support::process::PIPELINE)
        .arg("publish")
        .arg(file.path())
        .args(["--topic", "projects/test-proj/topics/nobody", "--json"])
        .args(["--pubsub-endpoint", &nobody, "--publish-timeout-secs", "2"])
        .env("RUST_BACKTRACE", "0")
        .output()
        .unwrap();
    let elapsed = started.elapsed();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "publish succeeded: {stdout}{stderr}"
    );
    let summary: Value = serde_json::from_str(stdout.trim()).unwrap();
    assert_eq!(summary["failed"], 3, "{summary}");
    assert_eq!(summary["published"], 0, "{summary}");
    // Well under the client's own 10-minute default; generous for a loaded machine.
    assert!(elapsed < Duration::from_secs(60), "took {elapsed:?}");
}

fn roundtrip(emulator: &Emulator, topic: &str, api: &str, timeout_s: &str) -> (bool, String) {
    let output = std::process::Command::new(crate::support::process::PIPELINE)
        .args([
            "roundtrip",
            "--topic",
            topic,
            "--pubsub-endpoint",
            &emulator.endpoint,
        ])
        .args([
            "--data-url",
            &format!("http://{api}"),
            "--timeout-secs",
            timeout_s,
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&output.stdout).into_owned()
        + &String::from_utf8_lossy(&output.stderr);
    (output.status.success(), text)
}

#[tokio::test(flavor = "multi_thread")]
async fn pubsub_roundtrip_passes_through_push_and_fails_clearly_when_nothing_arrives() {
    let Some(emulator) = Emulator::start() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let push = format!("http://127.0.0.1:{port}/pubsub/push");
    let settings = settings(1, 2, 5);
    let names = emulator.setup("roundtrip", Some(&push), settings.path());
    let up = up_on(&example_schema(), dir.path(), port, &[]);

    let (ok, text) = roundtrip(&emulator, &names.topic, &up.api, "30");
    assert!(ok, "{text}");
    assert!(text.contains("round trip ok: roundtrip-"), "{text}");
    assert_eq!(row_count(dir.path(), "example_table"), 1);

    // A data-api whose store never receives the topic's messages.
    let other = tempfile::tempdir().unwrap();
    let lonely = up_on(&example_schema(), other.path(), 0, &[]);
    let (ok, text) = roundtrip(&emulator, &names.topic, &lonely.api, "2");
    assert!(!ok, "{text}");
    assert!(text.contains("was not visible"), "{text}");
}
