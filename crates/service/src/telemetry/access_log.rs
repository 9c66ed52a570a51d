//! Middleware: one span per request, joined to the caller's trace, and one access-log
//! line per request carrying Cloud Logging's `httpRequest`.

use std::time::Instant;

use axum::body::HttpBody;
use axum::extract::{MatchedPath, Request};
use axum::http::{HeaderMap, header};
use axum::middleware::Next;
use axum::response::Response;
use tracing::Instrument;
use tracing::field::Empty;

use super::otlp;
use super::trace_context::Remote;

/// Routes polled by machines (probes, scrapers): answered successfully they log at
/// DEBUG, so a scrape every 15 s does not drown the log.
const QUIET_ROUTES: &[&str] = &["/healthz", "/readyz", "/metrics"];

/// Wraps a request in a `request` span (with `trace_id` and `span_id`, so every line
/// logged inside carries them) and logs its completion once.
///
/// Install it outermost, so the span covers every other layer and the handler.
pub async fn layer(service: &'static str, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or("unmatched", MatchedPath::as_str)
        .to_owned();
    let method = request.method().as_str().to_owned();
    // The path only: a query string can hold user input and page tokens.
    let path = request.uri().path().to_owned();
    let user_agent = header_text(request.headers(), header::USER_AGENT.as_str());
    let remote_ip = client_ip(request.headers());

    let span = tracing::info_span!(
        "request",
        otel.name = format!("{method} {route}"),
        otel.kind = "server",
        otel.status_code = Empty,
        service,
        http.request.method = %method,
        http.route = %route,
        http.response.status_code = Empty,
        trace_id = Empty,
        span_id = Empty,
        trace_sampled = Empty,
    );
    otlp::adopt(&span, Remote::from_headers(request.headers())).record_on(&span);

    let response = next.run(request).instrument(span.clone()).await;

    let status = response.status().as_u16();
    span.record("http.response.status_code", status);
    if status >= 500 {
        span.record("otel.status_code", "error");
    }
    let latency = format!("{:.6}s", started.elapsed().as_secs_f64());
    let size = response.body().size_hint().exact().or_else(|| {
        header_text(response.headers(), "content-length")?
            .parse()
            .ok()
    });

    let _entered = span.enter();
    macro_rules! access {
        ($level:ident) => {
            tracing::$level!(
                httpRequest.requestMethod = %method,
                httpRequest.requestUrl = %path,
                httpRequest.status = status,
                httpRequest.latency = %latency,
                httpRequest.responseSize = size.map(|s| s.to_string()).as_deref(),
                httpRequest.userAgent = user_agent.as_deref(),
                httpRequest.remoteIp = remote_ip.as_deref(),
                "request completed"
            )
        };
    }
    // The cause of a 5xx is logged where it happened; this line records that it was
    // answered. A 4xx is the caller's mistake, never an error of ours.
    if status >= 500 {
        access!(warn);
    } else if status < 400 && QUIET_ROUTES.contains(&route.as_str()) {
        access!(debug);
    } else {
        access!(info);
    }
    drop(_entered);
    response
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The client address Cloud Run's front end saw: the first `X-Forwarded-For` entry.
/// Locally there is no proxy and the field is left out.
fn client_ip(headers: &HeaderMap) -> Option<String> {
    let forwarded = header_text(headers, "x-forwarded-for")?;
    let first = forwarded.split(',').next()?.trim();
    first
        .parse::<std::net::IpAddr>()
        .ok()
        .map(|ip| ip.to_string())
}
