//! `GET /data`: pages, filters, projection, and the errors a caller can get.

use serde_json::{Value, json};

use crate::support::TestApp;

async fn seeded(n: i64) -> TestApp {
    let app = TestApp::start("example_table").await;
    for i in 0..n {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        let response = app
            .push_json(&format!("m{i:03}"), &json!({"id": i, "name": name}))
            .await;
        assert_eq!(response.status(), 204);
    }
    app
}

fn ids(rows: &[Value]) -> Vec<String> {
    rows.iter()
        .map(|r| r["message_id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn pages_are_stable_when_rows_arrive_between_them() {
    let app = seeded(25).await;
    let (_, first) = app.data("limit=10").await;
    let mut seen = ids(first["rows"].as_array().unwrap());
    assert_eq!(seen.len(), 10);

    // New rows are newer than every row already paged, so they must not appear later.
    for i in 100..105 {
        app.push_json(&format!("late{i}"), &json!({"id": i})).await;
    }
    let mut token = first["next_page_token"].as_str().map(str::to_owned);
    while let Some(t) = token {
        let (status, page) = app.data(&format!("limit=10&page_token={t}")).await;
        assert_eq!(status, 200);
        seen.extend(ids(page["rows"].as_array().unwrap()));
        token = page["next_page_token"].as_str().map(str::to_owned);
    }
    let mut sorted = seen.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), 25, "each original row exactly once: {seen:?}");
    assert!(seen.iter().all(|id| id.starts_with('m')));
}

#[tokio::test]
async fn newest_first_by_default_and_oldest_first_on_request() {
    let app = TestApp::start("example_table").await;
    for i in 0..3 {
        app.push_json(&format!("o{i}"), &json!({"id": i})).await;
    }
    let (_, desc) = app.data("").await;
    let (_, asc) = app.data("order=asc").await;
    assert_eq!(ids(desc["rows"].as_array().unwrap()), ["o2", "o1", "o0"]);
    assert_eq!(ids(asc["rows"].as_array().unwrap()), ["o0", "o1", "o2"]);
}

#[tokio::test]
async fn filters_match_by_equality_and_range() {
    let app = seeded(20).await;
    let rows = app.all_rows("name=odd&id.gte=5&id.lt=11").await;
    let mut got: Vec<&str> = rows.iter().map(|r| r["id"].as_str().unwrap()).collect();
    got.sort_by_key(|s| s.parse::<i64>().unwrap());
    assert_eq!(got, ["5", "7", "9"]);
    let rows = app.all_rows("id.ne=0&name=even").await;
    assert_eq!(rows.len(), 9);
}

#[tokio::test]
async fn fields_projects_columns() {
    let app = seeded(2).await;
    let (status, page) = app.data("fields=id,message_id").await;
    assert_eq!(status, 200);
    let row = page["rows"][0].as_object().unwrap();
    let keys: Vec<&str> = row.keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 2);
    assert!(row.contains_key("id") && row.contains_key("message_id"));
}

#[tokio::test]
async fn int64_beyond_two_to_the_53_survives_as_a_string() {
    let app = TestApp::start("example_table").await;
    app.push_data("big", br#"{"id":9007199254740993}"#).await;
    let (_, page) = app.data("id=9007199254740993").await;
    assert_eq!(page["rows"][0]["id"], "9007199254740993");
}

#[tokio::test]
async fn sql_in_a_filter_value_is_only_a_value() {
    let app = seeded(3).await;
    let (status, page) = app.data("name=x%27%20OR%20%271%27%3D%271").await;
    assert_eq!(status, 200);
    assert_eq!(page["rows"], json!([]));
    let (status, page) = app
        .data("name=even%22%3B%20DROP%20TABLE%20example_table%3B%20--")
        .await;
    assert_eq!((status, page["rows"].clone()), (200, json!([])));
    assert_eq!(app.row_count(), 3);
}

#[tokio::test]
async fn caller_mistakes_are_400_problems_naming_the_parameter() {
    let app = seeded(3).await;
    let (_, page) = app.data("limit=1").await;
    let token_for_other_query = page["next_page_token"].as_str().unwrap().to_owned();

    let cases = [
        ("limit=0", "limit"),
        ("limit=-1", "limit"),
        ("limit=1000000000", "limit"),
        ("limit=ten", "limit"),
        ("limit=1&limit=2", "limit"),
        ("page_token=garbage", "page_token"),
        ("order=sideways", "order"),
        ("fields=id,nope", "fields"),
        ("nope=1", "nope"),
        ("id.between=1", "id.between"),
        ("id=abc", "id"),
        ("attributes=x", "attributes"),
    ];
    for (query, param) in cases {
        let (status, problem) = app.data(query).await;
        assert_eq!(status, 400, "{query}: {problem}");
        assert_eq!(problem["param"], param, "{query}");
        assert_eq!(problem["status"], 400);
    }
    let (status, problem) = app
        .data(&format!("name=odd&page_token={token_for_other_query}"))
        .await;
    assert_eq!(status, 400, "a token from another query: {problem}");
    let (status, _) = app.data("limit=1000").await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn health_and_readiness_answer() {
    let app = TestApp::start("example_table").await;
    for (addr, path) in [
        (app.api, "healthz"),
        (app.api, "readyz"),
        (app.ingest, "readyz"),
    ] {
        let response = app
            .client
            .get(format!("http://{addr}/{path}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
    }
}
