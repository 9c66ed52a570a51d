//! The BigQuery store against the local emulator: the flights file end to end, and
//! rows the emulator rejects. The shared contract cases are in `contract`.

mod bench;
mod bignumeric;
pub mod emulator;
mod flights;
mod rejects;

use serde_json::Value;

/// Runs `sql` through the emulator's REST API (jobs.query) and returns each row's cell
/// values; for checks of tables the store itself never reads (the dead letters).
pub async fn query_rest(emulator: &emulator::Emulator, sql: &str) -> Vec<Vec<Value>> {
    let url = format!(
        "{}/bigquery/v2/projects/{}/queries",
        emulator.rest, emulator.project
    );
    let body = serde_json::json!({"query": sql, "useLegacySql": false, "maxResults": 10_000});
    let response: Value = reqwest::Client::new()
        .post(url)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    response["rows"]
        .as_array()
        .unwrap_or_else(|| panic!("no rows in {response}"))
        .iter()
        .map(|row| {
            row["f"]
                .as_array()
                .unwrap()
                .iter()
                .map(|cell| cell["v"].clone())
                .collect()
        })
        .collect()
}
