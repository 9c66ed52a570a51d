//! One contract, two stores: the same cases run against SQLite and against the BigQuery
//! emulator, through the real push endpoint and `GET /data`. Each case writes rows
//! with its own `name` and reads only those, so the cases share one app per store.

mod backend;

use std::collections::HashSet;

use serde_json::{Value, json};

use backend::{App, Kind};

#[tokio::test(flavor = "multi_thread")]
async fn sqlite_keeps_the_store_contract() {
    run_all(App::start(Kind::Sqlite).await).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn bigquery_emulator_keeps_the_store_contract() {
    run_all(App::start(Kind::BigQuery).await).await;
}

async fn run_all(app: App) {
    types_round_trip_exactly(&app).await;
    duplicates_never_show(&app).await;
    filters_match(&app).await;
    pages_are_stable(&app).await;
}

fn id_set(rows: &[Value]) -> HashSet<String> {
    rows.iter()
        .map(|r| r["message_id"].as_str().unwrap().to_owned())
        .collect()
}

async fn types_round_trip_exactly(app: &App) {
    let full = json!({
        "name": "types",
        "big": 9_007_199_254_740_993_i64,
        "amount": "12345678901234567890123456789.123456789",
        "at": "2026-12-04T10:00:00.123456Z",
        "local": "2026-12-04T10:00:00.654321",
        "day": "2026-12-04",
        "clock": "23:59:59.999999",
        "doc": {"a": [1, 2.5, "s", null], "big": 12_345_678_901_234_567_890_u64,
                "nested": {"k": "v"}},
        "blob": "AAEC/w==",
        "flag": true,
        "ratio": 1.5,
        "tags": ["a", "b", ""],
        "origin": {"code": "SCL", "at": "1970-01-01T00:00:00.000001Z"},
        "crew": [{"who": "x", "hours": "1.5"}, {"who": "y", "hours": null}],
    });
    let min = json!({"name": "types", "big": i64::MIN, "amount": "-0.000000001"});
    assert_eq!(app.push("types-full", &full).await, 204);
    assert_eq!(app.push("types-min", &min).await, 204);

    let (status, page) = app.data("name=types&order=asc&limit=10").await;
    assert_eq!(status, 200, "{page}");
    let rows = page["rows"].as_array().unwrap();
    assert_eq!(rows.len(), 2, "{page}");
    let by_id = |id: &str| rows.iter().find(|r| r["message_id"] == id).unwrap().clone();

    let got = by_id("types-full");
    let expected = json!({
        "name": "types",
        "big": "9007199254740993",
        "amount": "12345678901234567890123456789.123456789",
        "at": "2026-12-04T10:00:00.123456Z",
        "local": "2026-12-04T10:00:00.654321",
        "day": "2026-12-04",
        "clock": "23:59:59.999999",
        "blob": "AAEC/w==",
        "flag": true,
        "ratio": 1.5,
        "tags": ["a", "b", ""],
        "origin": {"code": "SCL", "at": "1970-01-01T00:00:00.000001Z"},
        "crew": [{"who": "x", "hours": "1.5"}, {"who": "y", "hours": null}],
    });
    for (column, want) in expected.as_object().unwrap() {
        assert_eq!(&got[column], want, "column {column} of {got}");
    }
    // A JSON column stays a JSON document (an object, with its big number intact).
    assert_eq!(got["doc"], full["doc"], "{got}");
    assert_eq!(got["attributes"], json!({"origin": "test"}), "{got}");
    assert_eq!(got["publish_time"], "2026-12-04T10:00:00.123456Z", "{got}");

    let got = by_id("types-min");
    assert_eq!(got["big"], "-9223372036854775808", "{got}");
    assert_eq!(got["amount"], "-0.000000001", "{got}");
    assert_eq!(
        got["tags"],
        json!([]),
        "REPEATED reads back empty, not null: {got}"
    );
    assert_eq!(got["crew"], json!([]), "{got}");
    for column in [
        "at", "local", "day", "clock", "doc", "blob", "flag", "ratio", "origin",
    ] {
        assert_eq!(got[column], Value::Null, "column {column} of {got}");
    }
}

async fn duplicates_never_show(app: &App) {
    let row = json!({"name": "dup", "big": 1});
    // Pub/Sub redelivers with the same id; both deliveries are acknowledged.
    assert_eq!(app.push("dup-1", &row).await, 204);
    assert_eq!(app.push("dup-1", &row).await, 204);
    assert_eq!(app.push("dup-2", &row).await, 204);
    assert_eq!(app.push("dup-1", &row).await, 204);

    for order in ["asc", "desc"] {
        let rows: Vec<Value> = app
            .pages(&format!("name=dup&order={order}&limit=1"))
            .await
            .concat();
        assert_eq!(rows.len(), 2, "order={order}: {rows:?}");
        assert_eq!(id_set(&rows).len(), 2, "a message showed twice: {rows:?}");
    }
}

async fn filters_match(app: &App) {
    for n in 1..=10_i64 {
        let row = json!({
            "name": "filter",
            "big": n,
            "amount": format!("{n}.5"),
            "at": format!("2026-12-04T10:00:{n:02}.000001Z"),
            "day": format!("2026-12-{n:02}"),
            "flag": n % 2 == 0,
        });
        assert_eq!(app.push(&format!("filter-{n:02}"), &row).await, 204);
    }
    let cases = [
        ("big.gt=7", vec![8, 9, 10]),
        ("big.lte=2", vec![1, 2]),
        ("big=5", vec![5]),
        ("big.ne=5&big.lt=4", vec![1, 2, 3]),
        ("amount.gte=5.5&amount.lt=8", vec![5, 6, 7]),
        ("at.lt=2026-12-04T10:00:03.000001Z", vec![1, 2]),
        ("day.gte=2026-12-09", vec![9, 10]),
        ("flag=true&big.lt=5", vec![2, 4]),
    ];
    for (filter, want) in cases {
        let (status, page) = app.data(&format!("name=filter&{filter}&order=asc")).await;
        assert_eq!(status, 200, "{filter}: {page}");
        let got: Vec<i64> = page["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r["big"].as_str().unwrap().parse().unwrap())
            .collect();
        assert_eq!(got, want, "{filter}");
    }
}

async fn pages_are_stable(app: &App) {
    for n in 0..23 {
        let row = json!({"name": "page", "big": n});
        assert_eq!(app.push(&format!("page-{n:02}"), &row).await, 204);
    }
    let query = "name=page&limit=5";
    let (_, first) = app.data(query).await;
    let (_, again) = app.data(query).await;
    assert_eq!(
        first["rows"], again["rows"],
        "the same query gave another page"
    );

    // Rows that arrive while a client pages (newest first) neither shift nor repeat
    // the rows still to come.
    let mut seen: Vec<Value> = first["rows"].as_array().unwrap().clone();
    for n in 23..26 {
        let row = json!({"name": "page", "big": n});
        assert_eq!(app.push(&format!("page-{n:02}"), &row).await, 204);
    }
    let token = first["next_page_token"].as_str().unwrap().to_owned();
    let rest = app.pages_from(query, Some(token)).await;
    seen.extend(rest.concat());
    assert_eq!(seen.len(), 23, "{seen:?}");
    let expected: HashSet<String> = (0..23).map(|n| format!("page-{n:02}")).collect();
    assert_eq!(id_set(&seen), expected);

    for order in ["asc", "desc"] {
        let pages = app.pages(&format!("name=page&limit=4&order={order}")).await;
        assert!(pages.iter().all(|p| p.len() <= 4));
        let rows = pages.concat();
        assert_eq!(rows.len(), 26, "order={order}");
        assert_eq!(id_set(&rows).len(), 26, "order={order}: a row showed twice");
    }
}
