//! `POST /pubsub/push`: every input, and the outcome it gets.

use base64::Engine;
use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE};
use serde_json::{Value, json};

use crate::support::{TestApp, envelope, repo_root};

const TYPED: &str = r#"[
  {"name": "id", "type": "INT64", "mode": "REQUIRED"},
  {"name": "name", "type": "STRING"},
  {"name": "amount", "type": "NUMERIC"},
  {"name": "tags", "type": "STRING", "mode": "REPEATED"}
]"#;

/// An app over a table with NUMERIC and REPEATED columns, defined in a temp file.
async fn typed_app() -> (TestApp, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let schema = dir.path().join("typed.json");
    std::fs::write(&schema, TYPED).unwrap();
    let app = TestApp::start_with(&schema, Default::default()).await;
    (app, dir)
}

fn outcome(response: &reqwest::Response) -> String {
    let header = response.headers().get("x-pipeline-outcome");
    header
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

/// Pushes one message and checks it was dead-lettered for `reason` (and `field`).
async fn assert_dead_lettered(
    app: &TestApp,
    id: &str,
    data: &[u8],
    reason: &str,
    field: Option<&str>,
) {
    let response = app.push_data(id, data).await;
    assert_eq!(response.status(), 204);
    assert_eq!(outcome(&response), "dead_lettered");
    let letters = app.dead_letters();
    let letter = letters
        .iter()
        .find(|l| l["message_id"] == id)
        .expect("no dead-letter record");
    assert_eq!(letter["reason"], reason, "{letter:?}");
    assert_eq!(
        letter["field"],
        field.map_or(Value::Null, |f| json!(f)),
        "{letter:?}"
    );
    assert_eq!(letter["payload"], json!(String::from_utf8_lossy(data)));
    assert!(!letter["detail"].as_str().unwrap().is_empty());
}

async fn row(app: &TestApp, id: &str) -> Value {
    let (status, page) = app.data(&format!("message_id={id}")).await;
    assert_eq!(status, 200);
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 1, "message {id}: {page}");
    rows[0].clone()
}

#[tokio::test]
async fn the_original_design_message_is_stored() {
    let app = TestApp::start("example_table").await;
    let response = app
        .push_json("m1", &json!({"id": 456, "name": "nuevo"}))
        .await;
    assert_eq!(response.status(), 204);
    assert_eq!(outcome(&response), "stored");
    let stored = row(&app, "m1").await;
    assert_eq!(stored["id"], "456");
    assert_eq!(stored["name"], "nuevo");
    assert_eq!(stored["attributes"], json!({"origin": "test"}));
}

#[tokio::test]
async fn data_that_is_not_base64_is_dead_lettered_with_the_text_kept() {
    let app = TestApp::start("example_table").await;
    let response = app
        .push_body(envelope("bad-b64", json!("%%%")).to_string())
        .await;
    assert_eq!(response.status(), 204);
    let letters = app.dead_letters();
    assert_eq!(letters.len(), 1);
    assert_eq!(letters[0]["reason"], "invalid_base64");
    assert_eq!(letters[0]["payload"], "%%%");
    assert_eq!(app.row_count(), 0);
}

#[tokio::test]
async fn unpadded_and_url_safe_base64_give_the_same_row_as_padded_standard() {
    let app = TestApp::start("example_table").await;
    // A name whose encoding has padding and a character where the alphabets differ.
    let data = (0..500)
        .map(|i| json!({"id": 7, "name": format!("??>{i}~")}).to_string())
        .find(|d| {
            let e = STANDARD.encode(d);
            e.ends_with('=') && (e.contains('+') || e.contains('/'))
        })
        .unwrap();
    for (id, text) in [
        ("std", STANDARD.encode(&data)),
        ("nopad", STANDARD_NO_PAD.encode(&data)),
        ("urlsafe", URL_SAFE.encode(&data)),
    ] {
        let response = app.push_body(envelope(id, json!(text)).to_string()).await;
        assert_eq!(outcome(&response), "stored", "{id}");
    }
    let names: Vec<Value> = [
        row(&app, "std").await,
        row(&app, "nopad").await,
        row(&app, "urlsafe").await,
    ]
    .iter()
    .map(|r| json!([r["id"], r["name"]]))
    .collect();
    assert_eq!(names[0], names[1]);
    assert_eq!(names[0], names[2]);
}

#[tokio::test]
async fn data_that_is_not_json_is_dead_lettered() {
    let app = TestApp::start("example_table").await;
    assert_dead_lettered(&app, "nj", b"not json", "invalid_json", None).await;
}

#[tokio::test]
async fn a_message_with_attributes_but_no_data_is_dead_lettered() {
    let app = TestApp::start("example_table").await;
    let response = app
        .push_body(envelope("nodata", Value::Null).to_string())
        .await;
    assert_eq!(response.status(), 204);
    let letters = app.dead_letters();
    assert_eq!(letters[0]["reason"], "missing_data");
    assert_eq!(letters[0]["attributes"], r#"{"origin":"test"}"#);
}

#[tokio::test]
async fn missing_null_and_empty_attributes_give_the_same_row() {
    let app = TestApp::start("example_table").await;
    let data = STANDARD.encode(r#"{"id":1}"#);
    for (id, attributes) in [
        ("absent", None),
        ("null", Some(Value::Null)),
        ("empty", Some(json!({}))),
    ] {
        let mut body = envelope(id, json!(data));
        match attributes {
            None => {
                body["message"]
                    .as_object_mut()
                    .unwrap()
                    .remove("attributes");
            }
            Some(a) => body["message"]["attributes"] = a,
        }
        let response = app.push_body(body.to_string()).await;
        assert_eq!(outcome(&response), "stored", "{id}");
        assert_eq!(row(&app, id).await["attributes"], json!({}), "{id}");
    }
}

#[tokio::test]
async fn publish_time_nanoseconds_are_kept_to_microseconds() {
    let app = TestApp::start("example_table").await;
    app.push_json("nanos", &json!({"id": 1})).await;
    assert_eq!(
        row(&app, "nanos").await["publish_time"],
        "2026-12-04T10:00:00.123456Z"
    );
}

#[tokio::test]
async fn numeric_values_are_stored_exactly() {
    let (app, _dir) = typed_app().await;
    app.push_data("n1", br#"{"id":1,"amount":1255139.628052805}"#)
        .await;
    app.push_data("n2", br#"{"id":2,"amount":"12.50"}"#).await;
    assert_eq!(row(&app, "n1").await["amount"], "1255139.628052805");
    assert_eq!(row(&app, "n2").await["amount"], "12.5");
    // An exponent at the edge of i64 once overflowed the range check and crashed the
    // writer; it is out of range, for the message and as a filter value.
    let huge = br#"{"id":3,"amount":"1e9223372036854775807"}"#;
    assert_dead_lettered(&app, "n3", huge, "out_of_range", Some("amount")).await;
    let (status, _) = app.data("amount.gt=1e9223372036854775807").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn int64_keeps_its_maximum_and_refuses_beyond() {
    let app = TestApp::start("example_table").await;
    let response = app.push_data("max", br#"{"id":9223372036854775807}"#).await;
    assert_eq!(outcome(&response), "stored");
    assert_eq!(row(&app, "max").await["id"], "9223372036854775807");
    assert_dead_lettered(
        &app,
        "over",
        br#"{"id":18446744073709551616}"#,
        "out_of_range",
        Some("id"),
    )
    .await;
}

#[tokio::test]
async fn an_unknown_field_is_dead_lettered_and_named() {
    let app = TestApp::start("example_table").await;
    let data = br#"{"id":1,"nmae":"typo"}"#;
    assert_dead_lettered(&app, "unknown", data, "unknown_field", Some("nmae")).await;
}

#[tokio::test]
async fn unknown_fields_can_be_dropped_and_counted_instead() {
    let mut options = ingest::IngestOptions::default();
    options.validate.unknown_fields = pipeline_core::validate::UnknownFields::Drop;
    let app = TestApp::start_with(&crate::support::schema_path("example_table"), options).await;
    let response = app.push_data("drop", br#"{"id":1,"extra":true}"#).await;
    assert_eq!(outcome(&response), "stored");
    assert_eq!(row(&app, "drop").await["id"], "1");
}

#[tokio::test]
async fn repeated_absent_null_and_empty_are_all_the_empty_array() {
    let (app, _dir) = typed_app().await;
    app.push_data("r1", br#"{"id":1}"#).await;
    app.push_data("r2", br#"{"id":2,"tags":null}"#).await;
    app.push_data("r3", br#"{"id":3,"tags":[]}"#).await;
    for id in ["r1", "r2", "r3"] {
        assert_eq!(row(&app, id).await["tags"], json!([]), "{id}");
    }
    assert_dead_lettered(
        &app,
        "r4",
        br#"{"id":4,"tags":["a",null]}"#,
        "null_in_array",
        Some("tags[1]"),
    )
    .await;
}

#[tokio::test]
async fn an_emoji_round_trips_and_a_lone_surrogate_is_dead_lettered() {
    let app = TestApp::start("example_table").await;
    app.push_json("emoji", &json!({"id": 1, "name": "despegue 🛫 ✈️"}))
        .await;
    assert_eq!(row(&app, "emoji").await["name"], "despegue 🛫 ✈️");
    let lone = br#"{"id":2,"name":"\ud83d"}"#;
    assert_dead_lettered(&app, "surrogate", lone, "invalid_value", Some("name")).await;
}

#[tokio::test]
async fn a_redelivered_message_is_acknowledged_and_stored_once() {
    let app = TestApp::start("example_table").await;
    let first = app.push_json("dup", &json!({"id": 1})).await;
    let second = app.push_json("dup", &json!({"id": 1})).await;
    assert_eq!(
        (first.status().as_u16(), second.status().as_u16()),
        (204, 204)
    );
    assert_eq!(outcome(&second), "duplicate");
    assert_eq!(app.row_count(), 1);
}

#[tokio::test]
async fn a_redelivered_poison_message_is_dead_lettered_once() {
    let app = TestApp::start("example_table").await;
    for _ in 0..3 {
        assert_eq!(app.push_data("poison", b"{").await.status(), 204);
    }
    assert_eq!(app.dead_letters().len(), 1);
}

#[tokio::test]
async fn requests_that_are_not_push_envelopes_get_400_and_write_nothing() {
    let app = TestApp::start("example_table").await;
    let bodies = [
        "hello".to_owned(),
        "{}".to_owned(),
        json!({"message": {"data": "e30="}}).to_string(),
        json!({"message": {"messageId": "x", "data": "e30="}}).to_string(),
        json!({"message": {"messageId": "x", "publishTime": "yesterday"}}).to_string(),
        json!({"message": {"messageId": "x", "publishTime": "2026-01-01T00:00:00Z",
            "attributes": {"n": 1}}})
        .to_string(),
    ];
    for body in bodies {
        let response = app.push_body(body.clone()).await;
        assert_eq!(response.status(), 400, "{body}");
        let content_type = response.headers()["content-type"]
            .to_str()
            .unwrap()
            .to_owned();
        assert_eq!(content_type, "application/problem+json");
        let problem: Value = response.json().await.unwrap();
        assert_eq!(problem["status"], 400);
    }
    assert_eq!(app.row_count(), 0);
    assert!(app.dead_letters().is_empty());
}

#[tokio::test]
async fn an_unwrapped_push_takes_metadata_and_attributes_from_headers() {
    let app = TestApp::start("example_table").await;
    let response = app
        .client
        .post(app.push_url())
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-goog-pubsub-message-id", "unwrapped-1")
        .header("x-goog-pubsub-publish-time", "2026-12-04T10:00:00.5Z")
        .header(
            "x-goog-pubsub-subscription-name",
            "projects/p/subscriptions/s",
        )
        .header("flight", "LA800")
        .header(
            "traceparent",
            "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        )
        .body(r#"{"id":9,"name":"raw"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    let stored = row(&app, "unwrapped-1").await;
    assert_eq!(stored["name"], "raw");
    assert_eq!(stored["attributes"], json!({"flight": "LA800"}));
    assert_eq!(stored["publish_time"], "2026-12-04T10:00:00.500000Z");
}

#[tokio::test]
async fn concurrent_pushes_are_all_stored() {
    let app = TestApp::start("example_table").await;
    let pushes = (0..300).map(|i| {
        let app = &app;
        async move {
            app.push_json(&format!("c{i}"), &json!({"id": i}))
                .await
                .status()
        }
    });
    let statuses = futures::future::join_all(pushes).await;
    assert!(statuses.iter().all(|s| *s == 204));
    assert_eq!(app.row_count(), 300);
}

#[tokio::test]
async fn schema_files_are_read_from_the_repository() {
    // Guards the helper itself: a wrong root would make every other test meaningless.
    assert!(repo_root().join("schemas/metadata.json").is_file());
}
