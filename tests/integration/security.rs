//! Who may push, who may read, and what hostile input gets (docs/security.md).
//!
//! Every refusal also asserts that nothing was written: no row, no dead letter.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine;
use data_api::ApiOptions;
use ingest::auth::{PushAuthArgs, PushAuthMode};
use pipeline_core::store::Store;
use pipeline_service::auth::{Access, ApiKeys};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::support::tokens::{self, AUDIENCE, Issuer, PUSHER};
use crate::support::{TestApp, envelope, schema_path};

fn push_auth(jwks_url: &str) -> PushAuthArgs {
    PushAuthArgs {
        push_auth: Some(PushAuthMode::Oidc),
        push_audience: Some(AUDIENCE.to_owned()),
        push_allowed_service_accounts: vec![PUSHER.to_owned()],
        push_jwks_url: jwks_url.to_owned(),
    }
}

/// Ingest with OIDC on, trusting `issuer`'s key.
async fn guarded_app(issuer: &Issuer) -> TestApp {
    let url = tokens::serve_jwks(&[issuer]).await;
    let options = ingest::IngestOptions {
        push_auth: push_auth(&url).access(PushAuthMode::Oidc).unwrap(),
        ..Default::default()
    };
    TestApp::start_with(&schema_path("example_table"), options).await
}

async fn push_with_token(app: &TestApp, token: Option<&str>) -> reqwest::Response {
    let data = base64::engine::general_purpose::STANDARD.encode(br#"{"id": 1}"#);
    let mut request = app
        .client
        .post(app.push_url())
        .body(envelope("auth-1", json!(data)).to_string());
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    request.send().await.unwrap()
}

fn assert_nothing_written(app: &TestApp) {
    assert_eq!(app.row_count(), 0, "no row may be written");
    assert!(
        app.dead_letters().is_empty(),
        "no dead letter may be written"
    );
}

#[tokio::test]
async fn a_push_with_a_valid_token_from_an_allowed_account_is_stored() {
    let issuer = Issuer::new("k1");
    let app = guarded_app(&issuer).await;
    let token = issuer.push_token(AUDIENCE, PUSHER);
    let response = push_with_token(&app, Some(&token)).await;
    assert_eq!(response.status(), 204);
    assert_eq!(app.row_count(), 1);
}

#[tokio::test]
async fn a_token_for_another_audience_is_401_and_writes_nothing() {
    let issuer = Issuer::new("k1");
    let app = guarded_app(&issuer).await;
    let token = issuer.push_token("https://someone-else.example/push", PUSHER);
    let response = push_with_token(&app, Some(&token)).await;
    assert_eq!(response.status(), 401);
    assert!(response.headers().contains_key("www-authenticate"));
    assert_nothing_written(&app);
}

#[tokio::test]
async fn a_valid_token_from_an_account_not_allowed_is_403_and_writes_nothing() {
    let issuer = Issuer::new("k1");
    let app = guarded_app(&issuer).await;
    let token = issuer.push_token(AUDIENCE, "intruder@project.iam.gserviceaccount.com");
    let response = push_with_token(&app, Some(&token)).await;
    assert_eq!(response.status(), 403);
    assert_nothing_written(&app);
}

#[tokio::test]
async fn a_push_without_authorization_is_401_with_a_bearer_challenge() {
    let issuer = Issuer::new("k1");
    let app = guarded_app(&issuer).await;
    let response = push_with_token(&app, None).await;
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_nothing_written(&app);
}

#[tokio::test]
async fn an_expired_token_is_401_and_writes_nothing() {
    let issuer = Issuer::new("k1");
    let app = guarded_app(&issuer).await;
    // Two minutes past expiry: well beyond the 30 s leeway.
    let token = issuer.sign(&tokens::claims(AUDIENCE, PUSHER, -120));
    let response = push_with_token(&app, Some(&token)).await;
    assert_eq!(response.status(), 401);
    assert_nothing_written(&app);
}

#[tokio::test]
async fn a_token_signed_by_an_unknown_key_is_401_and_writes_nothing() {
    let issuer = Issuer::new("k1");
    let app = guarded_app(&issuer).await;
    // A key the JWKS does not list, and a forger reusing the listed key id.
    for rogue in [Issuer::new("rogue"), Issuer::new("k1")] {
        let token = rogue.push_token(AUDIENCE, PUSHER);
        let response = push_with_token(&app, Some(&token)).await;
        assert_eq!(response.status(), 401);
    }
    assert_nothing_written(&app);
}

#[tokio::test]
async fn tokens_naming_unknown_keys_do_not_flood_the_key_endpoint() {
    let issuer = Issuer::new("k1");
    let (url, fetches) = tokens::serve_jwks_counted(&[&issuer]).await;
    let options = ingest::IngestOptions {
        push_auth: push_auth(&url).access(PushAuthMode::Oidc).unwrap(),
        ..Default::default()
    };
    let app = TestApp::start_with(&schema_path("example_table"), options).await;
    let good = issuer.push_token(AUDIENCE, PUSHER);
    assert_eq!(push_with_token(&app, Some(&good)).await.status(), 204);
    let rogue = Issuer::new("rogue");
    for _ in 0..20 {
        let token = rogue.push_token(AUDIENCE, PUSHER);
        assert_eq!(push_with_token(&app, Some(&token)).await.status(), 401);
    }
    // One fetch for the first token; the unknown `kid`s within 30 s add none.
    assert_eq!(fetches.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test]
async fn oidc_push_auth_refuses_to_start_without_an_audience_or_allow_list() {
    let mut args = push_auth("http://127.0.0.1:9/certs");
    args.push_audience = None;
    assert!(args.access(PushAuthMode::Oidc).is_err());
    let mut args = push_auth("http://127.0.0.1:9/certs");
    args.push_allowed_service_accounts.clear();
    assert!(args.access(PushAuthMode::Oidc).is_err());
    // `off` must be asked for; the binary's default is `oidc`.
    let mut args = push_auth("http://127.0.0.1:9/certs");
    args.push_auth = None;
    args.push_audience = None;
    assert!(args.access(PushAuthMode::Oidc).is_err());
    assert!(args.access(PushAuthMode::Off).unwrap().is_open());
}

// ---- hostile input on the push endpoint ----

#[tokio::test]
async fn the_largest_message_pub_sub_can_send_is_accepted() {
    let app = TestApp::start("example_table").await;
    // 10 MB of data is Pub/Sub's limit; pushed, it is 13.3 MB of base64.
    let prefix = r#"{"id": 1, "name": ""#;
    let filler = "x".repeat(10_000_000 - prefix.len() - 2);
    let data = format!(r#"{prefix}{filler}"}}"#);
    assert_eq!(data.len(), 10_000_000);
    let response = app.push_data("largest-1", data.as_bytes()).await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["x-pipeline-outcome"], "stored");
    assert_eq!(app.row_count(), 1);
}

#[tokio::test]
async fn a_body_one_byte_over_14_mib_is_413_and_writes_nothing() {
    let app = TestApp::start("example_table").await;
    let body = vec![b' '; ingest::MAX_BODY_BYTES + 1];
    let response = app.push_body(body).await;
    assert_eq!(response.status(), 413);
    assert_nothing_written(&app);
}

#[tokio::test]
async fn data_nested_10000_deep_is_dead_lettered_too_deep_without_overflowing() {
    let app = TestApp::start("example_table").await;
    let deep = format!(
        r#"{{"id": 1, "name": {}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let response = app.push_data("deep-1", deep.as_bytes()).await;
    assert_eq!(response.status(), 204);
    assert_eq!(response.headers()["x-pipeline-reason"], "too_deep");
    assert_eq!(app.row_count(), 0);
    assert_eq!(app.dead_letters().len(), 1);
}

// ---- hostile queries on /data ----

#[tokio::test]
async fn limits_outside_1_to_1000_are_400() {
    let app = TestApp::start("example_table").await;
    for limit in ["0", "-1", "1000000000", "1001", "ten"] {
        let (status, body) = app.data(&format!("limit={limit}")).await;
        assert_eq!(status, 400, "limit={limit}");
        assert_eq!(body["param"], "limit");
    }
}

#[tokio::test]
async fn a_page_token_from_another_query_is_400() {
    let app = TestApp::start("example_table").await;
    for i in 0..4 {
        let name = if i % 2 == 0 { "even" } else { "odd" };
        app.push_json(&format!("t{i}"), &json!({"id": i, "name": name}))
            .await;
    }
    let (_, page) = app.data("name=even&limit=1").await;
    let token = page["next_page_token"].as_str().expect("a second page");
    let (status, body) = app
        .data(&format!("name=odd&limit=1&page_token={token}"))
        .await;
    assert_eq!(status, 400);
    assert_eq!(body["param"], "page_token");
    let (status, _) = app.data("page_token=bm90LWEtdG9rZW4").await;
    assert_eq!(status, 400);
}

#[tokio::test]
async fn fields_naming_an_unknown_column_is_400() {
    let app = TestApp::start("example_table").await;
    let (status, body) = app.data("fields=id,password").await;
    assert_eq!(status, 400);
    assert_eq!(body["param"], "fields");
}

#[tokio::test]
async fn sql_in_a_filter_value_is_only_a_value() {
    let app = TestApp::start("example_table").await;
    app.push_json("s1", &json!({"id": 1, "name": "a"})).await;
    // name=a'; DROP TABLE example_table; --   and   name=x' OR '1'='1
    for query in [
        "name=a%27%3B%20DROP%20TABLE%20example_table%3B%20--",
        "name=x%27%20OR%20%271%27%3D%271",
    ] {
        let (status, page) = app.data(query).await;
        assert_eq!(status, 200);
        assert_eq!(page["rows"].as_array().unwrap().len(), 0);
    }
    assert_eq!(app.row_count(), 1, "the table is still there, with its row");
}

#[tokio::test]
async fn more_than_20_filters_is_400() {
    let app = TestApp::start("example_table").await;
    let query: Vec<String> = (0..21).map(|i| format!("id.ne={i}")).collect();
    let (status, body) = app.data(&query.join("&")).await;
    assert_eq!(status, 400);
    assert_eq!(body["param"], "filters");
}

// ---- slow clients, load shedding, timeouts, header limits ----

/// Serves `router` with the production server loop (header timeout and limits).
async fn serve_real(router: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(pipeline_service::serve::serve(
        listener,
        router,
        std::future::pending(),
    ));
    addr
}

fn ingest_router(app: &TestApp, options: ingest::IngestOptions) -> axum::Router {
    let store: Arc<dyn Store> = app.store.clone();
    ingest::build(app.schema.clone(), store, options).router
}

/// Opens a push whose body never finishes; the connection is held open.
async fn stalled_push(addr: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(addr).await.unwrap();
    let head = "POST /pubsub/push HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\n\
                Content-Length: 100000\r\n\r\n{\"message\":";
    stream.write_all(head.as_bytes()).await.unwrap();
    stream
}

async fn healthz_ms(client: &reqwest::Client, addr: SocketAddr) -> u128 {
    let started = Instant::now();
    let response = client
        .get(format!("http://{addr}/healthz"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    started.elapsed().as_millis()
}

#[tokio::test]
async fn healthz_answers_quickly_while_1000_slow_clients_hold_connections() {
    let app = TestApp::start("example_table").await;
    let addr = serve_real(ingest_router(&app, Default::default())).await;

    // 500 send their headers a byte at a time and stop; 500 never finish a body.
    let mut held = Vec::new();
    for i in 0..1000 {
        if i % 2 == 0 {
            let mut stream = TcpStream::connect(addr).await.unwrap();
            stream
                .write_all(b"POST /pubsub/push HTTP/1.1\r\nHo")
                .await
                .unwrap();
            held.push(stream);
        } else {
            held.push(stalled_push(addr).await);
        }
    }

    let client = reqwest::Client::new();
    let mut worst = 0;
    for _ in 0..20 {
        worst = worst.max(healthz_ms(&client, addr).await);
    }
    assert!(worst < 500, "slowest /healthz took {worst} ms");
    // Real pushes still get through: the stalled bodies hold 500 of 512 slots.
    let data = base64::engine::general_purpose::STANDARD.encode(br#"{"id": 7}"#);
    let response = client
        .post(format!("http://{addr}/pubsub/push"))
        .body(envelope("fast-1", json!(data)).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    drop(held);
}

#[tokio::test]
async fn pushes_over_the_in_flight_cap_are_shed_503_with_retry_after() {
    let app = TestApp::start("example_table").await;
    let options = ingest::IngestOptions {
        max_in_flight: 1,
        ..Default::default()
    };
    let addr = serve_real(ingest_router(&app, options)).await;
    let _holder = stalled_push(addr).await;
    tokio::time::sleep(Duration::from_millis(100)).await;

    let client = reqwest::Client::new();
    let response = client
        .post(format!("http://{addr}/pubsub/push"))
        .body(envelope("shed-1", json!("e30=")).to_string())
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 503);
    assert_eq!(response.headers()["retry-after"], "1");
    assert!(healthz_ms(&client, addr).await < 500);
    assert_nothing_written(&app);
}

#[tokio::test]
async fn a_push_whose_body_never_finishes_is_answered_503_at_the_deadline() {
    let app = TestApp::start("example_table").await;
    let options = ingest::IngestOptions {
        timeout: Duration::from_millis(300),
        ..Default::default()
    };
    let addr = serve_real(ingest_router(&app, options)).await;
    let mut stream = stalled_push(addr).await;
    let started = Instant::now();
    let mut answer = vec![0u8; 1024];
    let n = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut answer))
        .await
        .expect("an answer before 5 s")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..n]);
    assert!(answer.starts_with("HTTP/1.1 503"), "{answer}");
    assert!(started.elapsed() < Duration::from_secs(2));
    assert_nothing_written(&app);
}

#[tokio::test]
async fn headers_over_64_kib_are_431() {
    let app = TestApp::start("example_table").await;
    let addr = serve_real(ingest_router(&app, Default::default())).await;
    let response = reqwest::Client::new()
        .get(format!("http://{addr}/healthz"))
        .header("x-padding", "a".repeat(70 * 1024))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 431);
}

// ---- /data: caching and authentication ----

async fn api_with(app: &TestApp, options: ApiOptions) -> SocketAddr {
    let store: Arc<dyn Store> = app.store.clone();
    serve_real(data_api::build_with(app.schema.clone(), store, options)).await
}

fn cache_count(result: &str) -> u64 {
    let text = pipeline_service::http_metrics::handle().render();
    let needle = format!("data_api_cache_requests_total{{result=\"{result}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(needle.as_str()))
        .map_or(0, |v| v.trim().parse().unwrap())
}

#[tokio::test]
async fn identical_queries_within_the_ttl_are_served_from_memory_with_an_etag() {
    let app = TestApp::start("example_table").await;
    app.push_json("c1", &json!({"id": 1, "name": "a"})).await;
    let options = ApiOptions {
        cache_ttl: Duration::from_secs(1),
        ..Default::default()
    };
    let api = api_with(&app, options).await;
    let client = reqwest::Client::new();
    let get = |query: &'static str| client.get(format!("http://{api}/data?{query}")).send();
    let (hits, misses) = (cache_count("hit"), cache_count("miss"));

    let first = get("id.gte=0&name.ne=z").await.unwrap();
    assert_eq!(first.status(), 200);
    assert_eq!(first.headers()["cache-control"], "private, max-age=1");
    let etag = first.headers()["etag"].to_str().unwrap().to_owned();
    let body: Value = first.json().await.unwrap();
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);

    // A new row, then the same query with its filters in another order: the cached
    // page (the key is the parsed query, not the text).
    app.push_json("c2", &json!({"id": 2, "name": "b"})).await;
    let second = get("name.ne=z&id.gte=0").await.unwrap();
    assert_eq!(second.headers()["etag"], etag.as_str());
    let body: Value = second.json().await.unwrap();
    assert_eq!(body["rows"].as_array().unwrap().len(), 1);
    assert!(cache_count("hit") > hits);
    assert!(cache_count("miss") > misses);

    let not_modified = client
        .get(format!("http://{api}/data?id.gte=0&name.ne=z"))
        .header("if-none-match", &etag)
        .send()
        .await
        .unwrap();
    assert_eq!(not_modified.status(), 304);
    assert_eq!(not_modified.headers()["etag"], etag.as_str());

    // After the TTL the new row shows, with a new validator.
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let third = get("id.gte=0&name.ne=z").await.unwrap();
    assert_ne!(third.headers()["etag"], etag.as_str());
    let body: Value = third.json().await.unwrap();
    assert_eq!(body["rows"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn data_with_api_keys_needs_a_key_whose_digest_is_configured() {
    let app = TestApp::start("example_table").await;
    // printf %s s3cret | sha256sum
    let digest = "1ec1c26b50d5d3c58d9583181af8076655fe00756bf7285940ba3670f99fcba0";
    let options = ApiOptions {
        access: Access::ApiKey(ApiKeys::from_hex(&[digest]).unwrap()),
        ..Default::default()
    };
    let api = api_with(&app, options).await;
    let client = reqwest::Client::new();
    let url = format!("http://{api}/data");

    let none = client.get(&url).send().await.unwrap();
    assert_eq!(none.status(), 401);
    assert!(none.headers().contains_key("www-authenticate"));
    let wrong = client.get(&url).header("x-api-key", "guess").send();
    assert_eq!(wrong.await.unwrap().status(), 401);
    let right = client.get(&url).header("x-api-key", "s3cret").send();
    assert_eq!(right.await.unwrap().status(), 200);
    let health = client.get(format!("http://{api}/healthz")).send();
    assert_eq!(health.await.unwrap().status(), 200, "probes need no key");
}

#[tokio::test]
async fn data_with_google_tokens_admits_allowed_principals_only() {
    let app = TestApp::start("example_table").await;
    let issuer = Issuer::new("reader-key");
    let url = tokens::serve_jwks(&[&issuer]).await;
    let auth = data_api::access::DataAuthArgs {
        data_auth: data_api::access::DataAuthMode::Google,
        data_audience: Some("https://data.example.test".into()),
        data_allowed_principals: vec!["analyst@example.com".into()],
        data_jwks_url: url,
        data_api_key_sha256: vec![],
    };
    let options = ApiOptions {
        access: auth.access().unwrap(),
        ..Default::default()
    };
    let api = api_with(&app, options).await;
    let client = reqwest::Client::new();
    let get = |token: String| {
        client
            .get(format!("http://{api}/data"))
            .bearer_auth(token)
            .send()
    };
    let ok = issuer.push_token("https://data.example.test", "analyst@example.com");
    assert_eq!(get(ok).await.unwrap().status(), 200);
    let other = issuer.push_token("https://data.example.test", "someone@example.com");
    assert_eq!(get(other).await.unwrap().status(), 403);
    let wrong_aud = issuer.push_token(AUDIENCE, "analyst@example.com");
    assert_eq!(get(wrong_aud).await.unwrap().status(), 401);
}
