//! The flights file through `pipeline publish` into `pipeline up --store bigquery` on
//! the emulator, read back through `GET /data`.

use std::collections::{HashMap, HashSet};
use std::time::Instant;

use serde_json::Value;

use super::emulator::Emulator;
use crate::support::process::{PIPELINE, Up, publish};
use crate::support::{flights_csv, repo_root};

#[tokio::test(flavor = "multi_thread")]
async fn every_flight_lands_in_the_emulator_once_and_reads_back_through_data() {
    let Some(csv_path) = flights_csv() else {
        return;
    };
    let emulator = Emulator::start();
    let dir = tempfile::tempdir().unwrap();
    let mut up = start_up(&emulator, dir.path());
    let started = Instant::now();
    // Many requests in flight make big batches: the emulator writes a file per append
    // (DuckLake), so small batches make both writing and every later query slow.
    let summary = publish(
        &csv_path,
        &up.push_url(),
        &["--concurrency", "500", "--max-attempts", "30"],
    );
    eprintln!(
        "published 68,206 flights into the emulator in {:?}",
        started.elapsed()
    );
    assert_eq!(summary["sent"], 68_206);
    assert_eq!(summary["stored"], 68_206, "{summary}");
    assert_eq!(summary["dead_lettered"], 0, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");

    let client = reqwest::Client::new();
    let started = Instant::now();
    let mut rows: Vec<Value> = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("http://{}/data?limit=1000", up.api);
        if let Some(t) = &token {
            url.push_str(&format!("&page_token={t}"));
        }
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        rows.extend(
            page["rows"]
                .as_array()
                .unwrap_or_else(|| panic!("{page}"))
                .iter()
                .cloned(),
        );
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => break,
        }
    }
    eprintln!("read 68,206 flights back in {:?}", started.elapsed());
    assert_eq!(rows.len(), 68_206);
    let distinct: HashSet<&str> = rows
        .iter()
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), 68_206, "paging returned a row twice");

    // Spot-check rows against the CSV itself, as the SQLite flights test does.
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let by_id: HashMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["message_id"].as_str().unwrap(), r))
        .collect();
    for number in [1usize, 6069, 30_000, 68_206] {
        let record = &records[number - 1];
        let row = by_id[format!("flights_scl_2017-{number:06}").as_str()];
        let civil = |i: usize| record[i].replacen(' ', "T", 1);
        assert_eq!(row["scheduled_departure"], civil(0), "record {number}");
        assert_eq!(row["scheduled_flight_number"], record[1]);
        assert_eq!(row["actual_departure"], civil(5), "record {number}");
        assert_eq!(
            row["operation_day"], record[10],
            "INT64 on the wire is a string"
        );
        assert_eq!(row["operator"], record[15]);
    }
    assert_eq!(
        by_id["flights_scl_2017-006069"]["actual_flight_number"],
        Value::Null
    );

    // Pub/Sub redelivering everything: the default stream stores the copies, and
    // `/data` still shows each flight once.
    let again = publish(&csv_path, &up.push_url(), &["--limit", "5000"]);
    assert_eq!(again["failed"], 0, "{again}");
    let (status, page) = {
        let url = format!("http://{}/data?limit=1000&order=asc", up.api);
        let response = client.get(url).send().await.unwrap();
        (
            response.status().as_u16(),
            response.json::<Value>().await.unwrap(),
        )
    };
    assert_eq!(status, 200, "{page}");
    let first: HashSet<&str> = page["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(first.len(), 1000, "a redelivered flight showed twice");
    up.terminate(std::time::Duration::from_secs(30));
}

/// `pipeline up --store bigquery` on the emulator. The timeouts are raised because the
/// emulator is slow, not the store: a 1,000-row page over the whole table takes
/// seconds there (docs/benchmarks.md); the defaults stay what production wants.
fn start_up(emulator: &Emulator, data_dir: &std::path::Path) -> Up {
    use std::process::{Command, Stdio};

    let mut command = Command::new(PIPELINE);
    command
        .args(["up", "--ingest-port", "0", "--api-port", "0", "--schema"])
        .arg(repo_root().join("schemas/flights.json"))
        .arg("--data-dir")
        .arg(data_dir)
        .args(["--store", "bigquery", "--bq-dataset", "flights_e2e"])
        .args(["--bq-anonymous", "--bq-create-tables"])
        .env("PIPELINE_BQ_PROJECT", &emulator.project)
        .env("PIPELINE_BQ_ENDPOINT", &emulator.rest)
        .env("PIPELINE_BQ_GRPC_ENDPOINT", &emulator.grpc)
        .env("PIPELINE_BQ_ATTEMPT_TIMEOUT_MS", "30000")
        .env("PIPELINE_DATA_TIMEOUT_MS", "60000")
        .env("PIPELINE_PUSH_TIMEOUT_MS", "60000")
        .env("PIPELINE_PUSH_MAX_IN_FLIGHT", "2048")
        .env("PIPELINE_LOG_FORMAT", "json")
        .stderr(Stdio::inherit());
    Up::spawn(command, std::time::Duration::from_secs(60))
}
