//! Metrics, logs and traces, seen from outside: a real `pipeline up` as a child process
//! (its own metrics recorder, its own standard error), scraped and read.
//!
//! The recorder is process-global, so counting in this test process would also count
//! every other test's pushes; a child process has counters of its own and exact counts
//! can be asserted.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{Value, json};

use crate::support::process::{PIPELINE, wait_ready};
use crate::support::{envelope, schema_path};

const TRACE_ID: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const PARENT_SPAN_ID: &str = "00f067aa0ba902b7";
const PROJECT: &str = "obs-test-project";

/// `pipeline up` with JSON logs, its standard error collected line by line.
struct Pipeline {
    child: Child,
    ingest: String,
    api: String,
    stderr: Arc<Mutex<Vec<String>>>,
    data: tempfile::TempDir,
}

impl Pipeline {
    fn start(env: &[(&str, &str)]) -> Pipeline {
        let data = tempfile::tempdir().unwrap();
        let mut child = Command::new(PIPELINE)
            .args(["up", "--ingest-port", "0", "--api-port", "0", "--schema"])
            .arg(schema_path("example_table"))
            .arg("--data-dir")
            .arg(data.path())
            .env("PIPELINE_LOG_FORMAT", "json")
            .env("GOOGLE_CLOUD_PROJECT", PROJECT)
            .env("RUST_LOG", "info")
            .env_remove("OTEL_EXPORTER_OTLP_ENDPOINT")
            .env_remove("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
            .envs(env.iter().copied())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("failed to start pipeline up");

        let stderr = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&stderr);
        let err = child.stderr.take().unwrap();
        std::thread::spawn(move || {
            for line in BufReader::new(err).lines().map_while(Result::ok) {
                sink.lock().unwrap().push(line);
            }
        });

        let (ingest, api) = wait_ready(&mut child, Duration::from_secs(30));
        Pipeline {
            ingest,
            api,
            child,
            stderr,
            data,
        }
    }

    fn push_url(&self) -> String {
        format!("http://{}/pubsub/push", self.ingest)
    }

    async fn metrics(&self) -> String {
        let url = format!("http://{}/metrics", self.ingest);
        let response = reqwest::get(url).await.unwrap();
        assert_eq!(response.status(), 200);
        response.text().await.unwrap()
    }

    /// The JSON log lines so far; panics on a line that is not JSON.
    fn logs(&self) -> Vec<Value> {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
            .collect()
    }

    /// Waits (up to 10 s) for a log line matching `want`.
    async fn wait_for_log(&self, what: &str, want: impl Fn(&Value) -> bool) -> Value {
        let started = Instant::now();
        loop {
            if let Some(line) = self.logs().into_iter().find(&want) {
                return line;
            }
            if started.elapsed() > Duration::from_secs(10) {
                panic!(
                    "no log line {what}; got:\n{}",
                    self.stderr.lock().unwrap().join("\n")
                );
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

impl Drop for Pipeline {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn push_body(id: &str, data: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(data);
    envelope(id, json!(b64)).to_string()
}

async fn push(client: &reqwest::Client, url: &str, body: String) -> u16 {
    client
        .post(url)
        .body(body)
        .send()
        .await
        .unwrap()
        .status()
        .as_u16()
}

/// One sample of `name` whose labels include `labels`; panics if several match.
fn sample(text: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    let matches: Vec<f64> = text
        .lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (metric, label_text) = match series.split_once('{') {
                Some((m, rest)) => (m, rest.strip_suffix('}')?),
                None => (series, ""),
            };
            if metric != name {
                return None;
            }
            let found: BTreeMap<&str, &str> = label_text
                .split(',')
                .filter(|kv| !kv.is_empty())
                .filter_map(|kv| {
                    let (k, v) = kv.split_once('=')?;
                    Some((k, v.trim_matches('"')))
                })
                .collect();
            let all = labels.iter().all(|(k, v)| found.get(k) == Some(v));
            all.then(|| value.parse().unwrap())
        })
        .collect();
    assert!(matches.len() <= 1, "{name} {labels:?} matches {matches:?}");
    matches.first().copied()
}

#[tokio::test]
async fn metrics_count_each_push_outcome_exactly() {
    let app = Pipeline::start(&[]);
    let client = reqwest::Client::new();
    let url = app.push_url();

    // Three stored, one duplicate of the first, one dead-lettered, one bad request, and
    // one retried while another connection holds SQLite's write lock.
    for i in 1..=3 {
        let data = json!({"id": i, "name": "ok"}).to_string();
        assert_eq!(
            push(&client, &url, push_body(&format!("m-{i}"), data.as_bytes())).await,
            204
        );
    }
    let first = json!({"id": 1, "name": "ok"}).to_string();
    assert_eq!(
        push(&client, &url, push_body("m-1", first.as_bytes())).await,
        204
    );
    assert_eq!(
        push(&client, &url, push_body("m-bad", b"not json")).await,
        204
    );
    assert_eq!(
        push(&client, &url, "not a push request".to_owned()).await,
        400
    );
    let db = app.data.path().join("example_table.db");
    let blocker = rusqlite::Connection::open(db).unwrap();
    blocker.execute_batch("BEGIN EXCLUSIVE").unwrap();
    let locked = json!({"id": 9, "name": "later"}).to_string();
    assert_eq!(
        push(&client, &url, push_body("m-9", locked.as_bytes())).await,
        503
    );
    blocker.execute_batch("COMMIT").unwrap();

    let text = app.metrics().await;
    let messages = |outcome: &str, reason: &str| {
        sample(
            &text,
            "ingest_messages_total",
            &[("outcome", outcome), ("reason", reason)],
        )
    };
    assert_eq!(messages("stored", "none"), Some(3.0), "{text}");
    assert_eq!(messages("duplicate", "none"), Some(1.0));
    assert_eq!(messages("dead_lettered", "invalid_json"), Some(1.0));
    assert_eq!(messages("retried", "store_unavailable"), Some(1.0));

    let requests = |class: &str| {
        sample(
            &text,
            "http_server_requests_total",
            &[
                ("service", "ingest"),
                ("route", "/pubsub/push"),
                ("method", "POST"),
                ("status_class", class),
            ],
        )
    };
    assert_eq!(requests("2xx"), Some(5.0));
    assert_eq!(requests("4xx"), Some(1.0));
    assert_eq!(requests("5xx"), Some(1.0));
    let push_latency = [("service", "ingest"), ("route", "/pubsub/push")];
    let latency_count = |class| {
        let mut labels = push_latency.to_vec();
        labels.push(("status_class", class));
        sample(&text, "http_server_request_duration_seconds_count", &labels)
    };
    assert_eq!(latency_count("2xx"), Some(5.0));
    assert_eq!(latency_count("4xx"), Some(1.0));

    // Six items reached the batcher (the duplicate and the locked-out one too); the bad
    // request never did.
    assert_eq!(sample(&text, "ingest_batch_rows_sum", &[]), Some(6.0));
    let writes = sample(
        &text,
        "ingest_batch_write_duration_seconds_count",
        &[("store", "sqlite")],
    );
    assert!(
        writes.is_some_and(|n| (2.0..=6.0).contains(&n)),
        "{writes:?}"
    );
    assert_eq!(
        sample(&text, "ingest_freshness_lag_seconds_count", &[]),
        Some(3.0)
    );
    assert_eq!(
        sample(&text, "build_info", &[("service", "ingest")]),
        Some(1.0)
    );
    assert_eq!(
        sample(&text, "build_info", &[("service", "data-api")]),
        Some(1.0)
    );

    for name in [
        "http_server_requests_total",
        "http_server_request_duration_seconds",
        "ingest_messages_total",
        "ingest_batch_rows",
        "ingest_batch_write_duration_seconds",
        "ingest_freshness_lag_seconds",
        "build_info",
    ] {
        assert!(
            text.lines()
                .any(|l| l.starts_with(&format!("# HELP {name} "))),
            "no HELP for {name}"
        );
    }
    // The 500 ms SLO threshold is a bucket boundary.
    assert!(text.contains("le=\"0.5\""));

    // A 503 asks for redelivery: WARNING, with its cause on a line of its own.
    let refused = app
        .wait_for_log("for the 503", |l| l["httpRequest"]["status"] == 503)
        .await;
    assert_eq!(refused["severity"], "WARNING", "{refused}");
}

#[tokio::test]
async fn a_traceparent_trace_id_is_the_trace_id_in_the_logs() {
    let app = Pipeline::start(&[]);
    let client = reqwest::Client::new();
    let response = client
        .post(app.push_url())
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01"))
        .body(push_body("traced-1", b"not json"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let trace = format!("projects/{PROJECT}/traces/{TRACE_ID}");
    let is_traced = |l: &Value| l["logging.googleapis.com/trace"] == trace.as_str();
    let access = app
        .wait_for_log("for the traced request", |l| {
            is_traced(l) && l.get("httpRequest").is_some()
        })
        .await;
    let span_id = access["logging.googleapis.com/spanId"].as_str().unwrap();
    assert_eq!(span_id.len(), 16, "{access}");
    assert!(span_id.bytes().all(|b| b.is_ascii_hexdigit()));
    // Our span is the caller's child, not the caller's span itself.
    assert_ne!(span_id, PARENT_SPAN_ID);
    // The caller records this trace (flags 01), so Cloud Trace will have it.
    assert_eq!(access["logging.googleapis.com/trace_sampled"], true);

    // Lines logged inside the request carry the same trace: the dead-letter line here.
    let dead = app
        .wait_for_log("for the dead letter", |l| {
            l["message"] == "message dead-lettered"
        })
        .await;
    assert!(is_traced(&dead), "{dead}");
    assert_eq!(dead["reason"], "invalid_json");
    assert_eq!(dead["message_id"], "traced-1");

    // Cloud Run's own header works too when there is no traceparent.
    let other = "0af7651916cd43dd8448eb211c80319c";
    let response = client
        .get(format!("http://{}/data", app.api))
        .header("x-cloud-trace-context", format!("{other}/12345;o=1"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let other_trace = format!("projects/{PROJECT}/traces/{other}");
    app.wait_for_log("for the Cloud Trace header", |l| {
        l["logging.googleapis.com/trace"] == other_trace.as_str()
    })
    .await;
}

#[tokio::test]
async fn json_lines_carry_severity_and_the_access_log_carries_http_request() {
    let app = Pipeline::start(&[]);
    let client = reqwest::Client::new();
    let secret = "payload-that-must-not-be-logged";
    let data = json!({"id": 7, "name": secret}).to_string();
    let response = client
        .post(app.push_url())
        .header("user-agent", "obs-test/1")
        .header("x-forwarded-for", "203.0.113.9, 10.0.0.1")
        .body(push_body("access-1", data.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);
    assert_eq!(push(&client, &app.push_url(), "{".to_owned()).await, 400);
    // A probe answered 200 logs at DEBUG, below the default level: no line at all.
    let probe = client
        .get(format!("http://{}/healthz", app.api))
        .send()
        .await;
    assert_eq!(probe.unwrap().status(), 200);
    let response = client
        .get(format!("http://{}/data?limit=nope", app.api))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 400);

    let completed = |status: u64| {
        move |l: &Value| {
            let done = l["message"] == "request completed";
            done && l["httpRequest"]["status"] == status
        }
    };
    let stored = app.wait_for_log("for the 204", completed(204)).await;
    let http = &stored["httpRequest"];
    assert_eq!(stored["severity"], "INFO");
    assert_eq!(http["requestMethod"], "POST");
    assert_eq!(http["requestUrl"], "/pubsub/push");
    assert_eq!(http["userAgent"], "obs-test/1");
    assert_eq!(http["remoteIp"], "203.0.113.9");
    let latency = http["latency"].as_str().unwrap();
    let seconds = latency.strip_suffix('s').unwrap();
    assert!(seconds.parse::<f64>().is_ok_and(|s| s >= 0.0), "{latency}");
    assert!(stored["time"].as_str().unwrap().ends_with('Z'));

    // Client mistakes are INFO, never ERROR; the query string stays out of the log.
    app.wait_for_log("for the API's 400", |l| {
        l["httpRequest"]["requestUrl"] == "/data"
    })
    .await;
    let lines = app.logs();
    let mistakes: Vec<&Value> = lines
        .iter()
        .filter(|l| l["httpRequest"]["status"] == 400)
        .collect();
    assert_eq!(mistakes.len(), 2, "{lines:?}");
    // Requests on one server are logged in order: the /data line came after /healthz's.
    let probes = lines
        .iter()
        .filter(|l| l["httpRequest"]["requestUrl"] == "/healthz");
    assert_eq!(probes.count(), 0, "{lines:?}");
    assert!(
        mistakes.iter().all(|l| l["severity"] == "INFO"),
        "{mistakes:?}"
    );

    let severities = ["DEBUG", "INFO", "WARNING", "ERROR"];
    for line in &lines {
        let severity = line["severity"].as_str().unwrap_or("");
        assert!(severities.contains(&severity), "{line}");
        assert!(line.get("level").is_none(), "{line}");
        assert!(line["message"].is_string(), "{line}");
    }
    let raw = app.stderr.lock().unwrap().join("\n");
    assert!(!raw.contains(secret), "a payload reached the log");
    assert!(
        !raw.contains("limit=nope"),
        "a query string reached the log"
    );
}

/// A stand-in OTLP collector on 127.0.0.1: keeps every body POSTed to `/v1/traces`.
async fn fake_collector() -> (String, Arc<Mutex<Vec<Vec<u8>>>>) {
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&bodies);
    let router = axum::Router::new().route(
        "/v1/traces",
        axum::routing::post(move |body: axum::body::Bytes| async move {
            sink.lock().unwrap().push(body.to_vec());
            // An empty ExportTraceServiceResponse is an empty protobuf message.
            axum::http::StatusCode::OK
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    (format!("http://{addr}"), bodies)
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

fn hex_bytes(hex: &str) -> Vec<u8> {
    (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
        .collect()
}

#[tokio::test]
async fn with_an_otlp_endpoint_the_logged_span_is_the_exported_span() {
    let (endpoint, bodies) = fake_collector().await;
    let app = Pipeline::start(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint.as_str()),
        // Export within 100 ms instead of the default 5 s.
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]);
    let client = reqwest::Client::new();
    let data = json!({"id": 1, "name": "traced"}).to_string();
    let response = client
        .post(app.push_url())
        .header("traceparent", format!("00-{TRACE_ID}-{PARENT_SPAN_ID}-01"))
        .body(push_body("otlp-1", data.as_bytes()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 204);

    let trace = format!("projects/{PROJECT}/traces/{TRACE_ID}");
    let access = app
        .wait_for_log("for the exported request", |l| {
            l["logging.googleapis.com/trace"] == trace.as_str() && l.get("httpRequest").is_some()
        })
        .await;
    let span_id = access["logging.googleapis.com/spanId"].as_str().unwrap();

    // The collector receives the caller's trace id, and the span the log line names.
    let (trace_bytes, span_bytes) = (hex_bytes(TRACE_ID), hex_bytes(span_id));
    let started = Instant::now();
    loop {
        let exported = bodies.lock().unwrap().clone();
        let has = |needle: &[u8]| exported.iter().any(|b| contains(b, needle));
        if has(&trace_bytes) && has(&span_bytes) {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(10),
            "spans not exported ({} bodies); logs:\n{}",
            exported.len(),
            app.stderr.lock().unwrap().join("\n")
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test]
async fn a_publisher_trace_in_the_message_attributes_is_the_trace_of_its_processing() {
    let app = Pipeline::start(&[]);
    let publisher = "5f0a7b3c2d1e4f60718293a4b5c6d7e8";
    let b64 = base64::engine::general_purpose::STANDARD.encode("not json");
    let traceparent = format!("00-{publisher}-{PARENT_SPAN_ID}-01");
    let body = json!({
        "message": {
            "messageId": "published-1",
            "publishTime": "2026-12-04T10:00:00Z",
            "data": b64,
            "attributes": {"googclient_traceparent": traceparent},
        },
        "subscription": "projects/p/subscriptions/s",
    });
    let status = push(&reqwest::Client::new(), &app.push_url(), body.to_string()).await;
    assert_eq!(status, 204);

    let trace = format!("projects/{PROJECT}/traces/{publisher}");
    let dead = app
        .wait_for_log("for the dead letter", |l| {
            l["message"] == "message dead-lettered"
        })
        .await;
    assert_eq!(
        dead["logging.googleapis.com/trace"],
        trace.as_str(),
        "{dead}"
    );
    assert_eq!(dead["message_id"], "published-1");
    // The delivery itself (no trace header) is a trace of its own.
    let access = app
        .wait_for_log("for the push", |l| l.get("httpRequest").is_some())
        .await;
    assert_ne!(access["logging.googleapis.com/trace"], trace.as_str());
}
