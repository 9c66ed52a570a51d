//! The real flights file through `pipeline publish` into `pipeline up`.

use std::collections::HashSet;

use serde_json::Value;

use crate::support::process::{Up, publish};
use crate::support::{flights_csv, repo_root};

async fn all_rows(client: &reqwest::Client, api: &str, query: &str) -> Vec<Value> {
    let mut rows = Vec::new();
    let mut token: Option<String> = None;
    loop {
        let mut url = format!("http://{api}/data?{query}");
        if let Some(t) = &token {
            url.push_str(&format!("&page_token={t}"));
        }
        let page: Value = client.get(url).send().await.unwrap().json().await.unwrap();
        rows.extend(page["rows"].as_array().unwrap().iter().cloned());
        match page["next_page_token"].as_str() {
            Some(t) => token = Some(t.to_owned()),
            None => return rows,
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_flight_is_stored_once_with_its_types_and_pages_return_each_once() {
    let Some(csv_path) = flights_csv() else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let up = Up::start(&repo_root().join("schemas/flights.json"), dir.path(), &[]);

    let summary = publish(&csv_path, &up.push_url(), &[]);
    assert_eq!(summary["sent"], 68_206);
    assert_eq!(summary["stored"], 68_206, "{summary}");
    assert_eq!(summary["dead_lettered"], 0, "{summary}");
    assert_eq!(summary["failed"], 0, "{summary}");

    let client = reqwest::Client::new();
    let rows = all_rows(&client, &up.api, "limit=1000").await;
    assert_eq!(rows.len(), 68_206);
    let distinct: HashSet<&str> = rows
        .iter()
        .map(|r| r["message_id"].as_str().unwrap())
        .collect();
    assert_eq!(distinct.len(), 68_206, "paging returned a row twice");

    // Spot-check rows against the CSV itself.
    let mut reader = csv::Reader::from_path(&csv_path).unwrap();
    let records: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    let by_id: std::collections::HashMap<&str, &Value> = rows
        .iter()
        .map(|r| (r["message_id"].as_str().unwrap(), r))
        .collect();
    for number in [1usize, 6069, 30_000, 68_206] {
        let record = &records[number - 1];
        let row = by_id[format!("flights_scl_2017-{number:06}").as_str()];
        assert_eq!(
            row["scheduled_departure"],
            record[0].replacen(' ', "T", 1),
            "record {number}"
        );
        assert_eq!(row["scheduled_flight_number"], record[1]);
        assert_eq!(row["scheduled_destination"], record[3]);
        assert_eq!(row["actual_departure"], record[5].replacen(' ', "T", 1));
        let flight = if record[6].is_empty() {
            Value::Null
        } else {
            record[6].into()
        };
        assert_eq!(row["actual_flight_number"], flight, "record {number}");
        assert_eq!(
            row["operation_day"], record[10],
            "INT64 on the wire is a string"
        );
        assert_eq!(row["operation_year"], record[12]);
        assert_eq!(row["operator"], record[15]);
    }
    // The one empty value in the file is a NULL, not an empty string.
    assert_eq!(
        by_id["flights_scl_2017-006069"]["actual_flight_number"],
        Value::Null
    );
    // Odd flight numbers stay strings exactly as written.
    let odd = all_rows(&client, &up.api, "scheduled_flight_number=989P").await;
    assert!(!odd.is_empty());
    let decimal = all_rows(&client, &up.api, "actual_flight_number=281.0&limit=1000").await;
    assert!(!decimal.is_empty());

    let again = publish(&csv_path, &up.push_url(), &[]);
    assert_eq!(again["stored"], 0, "{again}");
    assert_eq!(again["duplicates"], 68_206, "{again}");
    assert_eq!(
        all_rows(&client, &up.api, "limit=1000&fields=message_id")
            .await
            .len(),
        68_206
    );
}
