//! Logging and tracing: JSON lines for Cloud Logging, or readable text in a terminal;
//! spans exported over OTLP when an endpoint is configured.
//!
//! - [`cloud_logging`]: the JSON line format (`severity`, trace fields, `httpRequest`).
//! - [`trace_context`]: the caller's trace from `traceparent` / `X-Cloud-Trace-Context`.
//! - [`access_log`]: the per-request span and access-log line (router middleware).
//! - [`message_trace`]: a message's span in its publisher's trace (`googclient_*`).
//! - [`otlp`]: OpenTelemetry export, off unless `OTEL_EXPORTER_OTLP_ENDPOINT` is set.

pub mod access_log;
pub mod cloud_logging;
pub mod message_trace;
pub mod otlp;
pub mod trace_context;

use std::io::IsTerminal;

use clap::ValueEnum;
use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::format::JsonFields;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// JSON when standard error is not a terminal, text when it is.
    Auto,
    Json,
    Text,
}

/// The project named in `logging.googleapis.com/trace`: `GOOGLE_CLOUD_PROJECT`, else
/// the BigQuery project (`PIPELINE_BQ_PROJECT`), which is the same one in every
/// deployment so far.
pub fn trace_project() -> Option<String> {
    ["GOOGLE_CLOUD_PROJECT", "PIPELINE_BQ_PROJECT"]
        .iter()
        .filter_map(|var| std::env::var(var).ok())
        .find(|v| !v.trim().is_empty())
}

/// Installs the global subscriber. `RUST_LOG` overrides the default `info` level.
pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    let json = match format {
        LogFormat::Json => true,
        LogFormat::Text => false,
        LogFormat::Auto => !std::io::stderr().is_terminal(),
    };
    let json_layer = json.then(|| {
        tracing_subscriber::fmt::layer()
            .fmt_fields(JsonFields::new())
            .event_format(cloud_logging::CloudLogging {
                project: trace_project(),
            })
            .with_writer(std::io::stderr)
    });
    // Colours only for a terminal: forced text in a file or pipe stays plain.
    let ansi = std::io::stderr().is_terminal();
    let text_layer = (!json).then(|| {
        tracing_subscriber::fmt::layer()
            .with_ansi(ansi)
            .with_writer(std::io::stderr)
    });

    // Export is optional: a broken OTLP setting is reported and the service runs on
    // without it, since traces are a diagnosis aid, not part of the data path.
    let mut otlp_error = None;
    let otlp_layer = if otlp::configured() {
        otlp::layer().map_err(|e| otlp_error = Some(e)).ok()
    } else {
        None
    };

    // A second init (tests, or `pipeline up` starting two services) keeps the first.
    let installed = tracing_subscriber::registry()
        .with(filter)
        .with(json_layer)
        .with(text_layer)
        .with(otlp_layer)
        .try_init()
        .is_ok();
    if let (true, Some(err)) = (installed, otlp_error) {
        tracing::warn!(error = format!("{err:#}"), "OTLP trace export is off");
    }
}

/// Flushes what telemetry buffers (queued spans); call before the process exits.
pub fn shutdown() {
    otlp::shutdown();
}
