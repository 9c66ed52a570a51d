//! Prometheus metrics: the recorder, `/metrics`, and per-request counters labelled by
//! the matched route (never the raw path, so label sets stay bounded).

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use pipeline_core::names;

/// Latency buckets in seconds, dense around the 500 ms SLO threshold.
const LATENCY_BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 10.0,
];
const BATCH_BUCKETS: &[f64] = &[1.0, 2.0, 5.0, 10.0, 25.0, 50.0, 100.0, 250.0, 500.0, 1000.0];
const LAG_BUCKETS: &[f64] = &[
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0,
];

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the process-wide recorder once and returns its handle.
pub fn handle() -> &'static PrometheusHandle {
    HANDLE.get_or_init(|| {
        let full = |name: &str| Matcher::Full(name.to_owned());
        PrometheusBuilder::new()
            .set_buckets_for_metric(full(names::HTTP_REQUEST_DURATION_SECONDS), LATENCY_BUCKETS)
            .and_then(|b| {
                b.set_buckets_for_metric(
                    full(names::INGEST_BATCH_WRITE_DURATION_SECONDS),
                    LATENCY_BUCKETS,
                )
            })
            .and_then(|b| b.set_buckets_for_metric(full(names::INGEST_BATCH_ROWS), BATCH_BUCKETS))
            .and_then(|b| {
                b.set_buckets_for_metric(full(names::INGEST_FRESHNESS_LAG_SECONDS), LAG_BUCKETS)
            })
            .and_then(|b| b.install_recorder())
            // `# HELP` lines: descriptions reach only a recorder already installed.
            .inspect(|_| names::describe())
            .unwrap_or_else(|e| {
                // Another recorder is already installed (a test harness); serve nothing
                // rather than stop the service.
                tracing::warn!(error = %e, "metrics recorder not installed");
                PrometheusBuilder::new().build_recorder().handle()
            })
    })
}

/// Records `build_info` for a service.
pub fn register_build_info(service: &'static str) {
    // Install the recorder first: metrics recorded before it exist nowhere.
    handle();
    metrics::gauge!(names::BUILD_INFO, "service" => service, "version" => env!("CARGO_PKG_VERSION"))
        .set(1.0);
}

pub async fn render() -> Response {
    let body = handle().render();
    (
        [(
            axum::http::header::CONTENT_TYPE,
            "text/plain; version=0.0.4",
        )],
        body,
    )
        .into_response()
}

fn status_class(status: u16) -> &'static str {
    match status {
        100..=199 => "1xx",
        200..=299 => "2xx",
        300..=399 => "3xx",
        400..=499 => "4xx",
        _ => "5xx",
    }
}

/// Middleware: counts and times every request by service, matched route, method and
/// status class.
pub async fn track(service: &'static str, request: Request, next: Next) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |p| p.as_str().to_owned());
    let method = request.method().as_str().to_owned();
    let started = Instant::now();

    let response = next.run(request).await;

    let labels = [
        ("service", service.to_owned()),
        ("route", route),
        ("method", method),
        (
            "status_class",
            status_class(response.status().as_u16()).to_owned(),
        ),
    ];
    metrics::counter!(names::HTTP_REQUESTS_TOTAL, &labels).increment(1);
    metrics::histogram!(names::HTTP_REQUEST_DURATION_SECONDS, &labels)
        .record(started.elapsed().as_secs_f64());
    response
}
