//! Trace export over OTLP (HTTP, protobuf), on only when `OTEL_EXPORTER_OTLP_ENDPOINT`
//! (or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set.
//!
//! The exporter reads the standard `OTEL_*` variables itself: the endpoint gets
//! `/v1/traces` appended (so it is the collector's base URL, usually port 4318),
//! `OTEL_EXPORTER_OTLP_HEADERS` adds headers, `OTEL_SERVICE_NAME` overrides the service
//! name (default: the executable's name). Only `http/protobuf` is built in; a collector
//! that speaks only gRPC needs its HTTP receiver enabled.

use std::sync::OnceLock;

use anyhow::Context as _;
use opentelemetry::trace::{
    SpanContext, SpanId, TraceContextExt, TraceFlags, TraceId, TraceState, TracerProvider as _,
};
use opentelemetry_otlp::SpanExporter;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::SdkTracerProvider;
use tracing::Subscriber;
use tracing_opentelemetry::OpenTelemetrySpanExt;
use tracing_subscriber::Layer;
use tracing_subscriber::registry::LookupSpan;

use super::trace_context::{self, Remote};

const ENDPOINT_VARS: [&str; 2] = [
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
];

/// The provider, kept so that [`shutdown`] can flush it; set only when export is on.
static PROVIDER: OnceLock<SdkTracerProvider> = OnceLock::new();

/// Whether an OTLP endpoint is configured.
pub fn configured() -> bool {
    ENDPOINT_VARS
        .iter()
        .any(|var| std::env::var(var).is_ok_and(|v| !v.trim().is_empty()))
}

/// The `tracing` layer that turns spans into OpenTelemetry spans and exports them.
///
/// Call at most once per process (the subscriber it joins is global).
pub fn layer<S>() -> anyhow::Result<impl Layer<S>>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    let exporter = SpanExporter::builder()
        .with_http()
        .build()
        .context("failed to build the OTLP span exporter")?;
    let resource = Resource::builder()
        .with_service_name(service_name())
        .build();
    // The batch processor exports from its own thread, so a slow collector never
    // holds up a request.
    let provider = SdkTracerProvider::builder()
        .with_batch_exporter(exporter)
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("pipeline");
    let _ = PROVIDER.set(provider);
    Ok(tracing_opentelemetry::layer().with_tracer(tracer))
}

/// Exports the spans still queued; call before the process exits.
pub fn shutdown() {
    if let Some(provider) = PROVIDER.get()
        && let Err(err) = provider.shutdown()
    {
        tracing::warn!(error = %err, "failed to flush the last spans to the OTLP endpoint");
    }
}

/// The ids a span is logged (and exported) under.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ids {
    pub trace_id: u128,
    pub span_id: u64,
    /// Whether the trace is being recorded (exported) somewhere.
    pub sampled: bool,
}

impl Ids {
    /// Records the ids on `span`, which must declare `trace_id`, `span_id` and
    /// `trace_sampled`, so that every line logged inside it carries them.
    pub fn record_on(self, span: &tracing::Span) {
        span.record("trace_id", trace_context::trace_hex(self.trace_id));
        span.record("span_id", trace_context::span_hex(self.span_id));
        span.record("trace_sampled", self.sampled);
    }
}

/// Makes `span` a child of the caller's span (if any) and returns its ids, as they
/// will appear in the exported trace and in the logs.
///
/// Without export there is no OpenTelemetry span: the trace id is the caller's (or a
/// new one) and the span id is made up here, so logs still group by request.
pub fn adopt(span: &tracing::Span, remote: Option<Remote>) -> Ids {
    if PROVIDER.get().is_some() {
        if let Some(remote) = remote {
            let flags = if remote.sampled {
                TraceFlags::SAMPLED
            } else {
                TraceFlags::default()
            };
            let parent = SpanContext::new(
                TraceId::from_bytes(remote.trace_id.to_be_bytes()),
                SpanId::from_bytes(remote.span_id.to_be_bytes()),
                flags,
                true,
                TraceState::default(),
            );
            let cx = opentelemetry::Context::new().with_remote_span_context(parent);
            // Fails only if the span is disabled or already started: then it is a root.
            let _ = span.set_parent(cx);
        }
        let cx = span.context();
        let ours = cx.span().span_context().clone();
        if ours.is_valid() {
            return Ids {
                trace_id: u128::from_be_bytes(ours.trace_id().to_bytes()),
                span_id: u64::from_be_bytes(ours.span_id().to_bytes()),
                sampled: ours.is_sampled(),
            };
        }
    }
    Ids {
        trace_id: remote.map_or_else(trace_context::random_u128, |r| r.trace_id),
        span_id: trace_context::random_u64(),
        // Nothing here exports; the caller may be recording its side of the trace.
        sampled: remote.is_some_and(|r| r.sampled),
    }
}

fn service_name() -> String {
    if let Ok(name) = std::env::var("OTEL_SERVICE_NAME")
        && !name.is_empty()
    {
        return name;
    }
    std::env::current_exe()
        .ok()
        .and_then(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "pipeline".to_owned())
}
