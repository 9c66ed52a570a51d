//! One JSON object per event in Cloud Logging's structured format.
//!
//! Cloud Run's logging agent turns each line written to standard error into a log entry
//! and lifts the special fields out of it: `severity`, `message`, `time`,
//! `logging.googleapis.com/trace`, `logging.googleapis.com/spanId`,
//! `logging.googleapis.com/sourceLocation` and `httpRequest`. Everything else lands in
//! `jsonPayload`.
//!
//! Fields of the enclosing spans are flattened into the line (inner spans win), so a
//! line written inside a request span carries that request's `trace_id`; the two id
//! fields are renamed to Cloud Logging's. Event fields named `httpRequest.<key>` are
//! gathered into the nested `httpRequest` object the access log needs: a `tracing`
//! event cannot hold a nested value itself.

use std::fmt;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;

/// Span or event field holding the 32-hex-digit trace id.
pub const TRACE_ID: &str = "trace_id";
/// Span or event field holding the 16-hex-digit span id.
pub const SPAN_ID: &str = "span_id";
/// Span or event field: whether the trace is recorded (Cloud Trace shows only those).
pub const TRACE_SAMPLED: &str = "trace_sampled";
/// Prefix of the event fields that form the `httpRequest` object.
pub const HTTP_REQUEST_PREFIX: &str = "httpRequest.";

const TRACE_KEY: &str = "logging.googleapis.com/trace";
const SPAN_KEY: &str = "logging.googleapis.com/spanId";
const SAMPLED_KEY: &str = "logging.googleapis.com/trace_sampled";
const SOURCE_KEY: &str = "logging.googleapis.com/sourceLocation";

/// The event formatter. Pair it with `JsonFields` as the field formatter: it reads the
/// spans' fields back as the JSON objects `JsonFields` stores.
#[derive(Debug, Clone, Default)]
pub struct CloudLogging {
    /// The Google Cloud project the traces belong to. Without one the trace field holds
    /// the bare trace id, which Cloud Logging cannot link to Cloud Trace.
    pub project: Option<String>,
}

impl<S, N> FormatEvent<S, N> for CloudLogging
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = span_fields(ctx);
        let mut visitor = JsonVisitor::default();
        event.record(&mut visitor);
        fields.extend(visitor.0);

        let entry = self.entry(event.metadata(), fields);
        let line = serde_json::to_string(&entry).map_err(|_| fmt::Error)?;
        writeln!(writer, "{line}")
    }
}

impl CloudLogging {
    fn entry(&self, meta: &tracing::Metadata<'_>, mut fields: Map<String, Value>) -> Value {
        let mut entry = Map::new();
        entry.insert("severity".into(), severity(meta.level()).into());
        let message = fields.remove("message").unwrap_or_default();
        entry.insert("message".into(), message);
        entry.insert("time".into(), now_rfc3339().into());

        if let Some(Value::String(trace_id)) = fields.remove(TRACE_ID) {
            let trace = match &self.project {
                Some(project) => format!("projects/{project}/traces/{trace_id}"),
                None => trace_id,
            };
            entry.insert(TRACE_KEY.into(), trace.into());
        }
        if let Some(span_id) = fields.remove(SPAN_ID) {
            entry.insert(SPAN_KEY.into(), span_id);
        }
        if let Some(sampled @ Value::Bool(_)) = fields.remove(TRACE_SAMPLED) {
            entry.insert(SAMPLED_KEY.into(), sampled);
        }
        if let (Some(file), Some(line)) = (meta.file(), meta.line()) {
            let location = serde_json::json!({
                "file": file,
                "line": line.to_string(),
                "function": meta.target(),
            });
            entry.insert(SOURCE_KEY.into(), location);
        }

        let mut http_request = Map::new();
        for (key, value) in fields {
            match key.strip_prefix(HTTP_REQUEST_PREFIX) {
                Some(inner) => {
                    http_request.insert(inner.to_owned(), value);
                }
                // `otel.*` fields steer the exported span (its name, kind); not log data.
                None if key.starts_with("otel.") => {}
                // The special keys above are already set; a field never overwrites them.
                None => {
                    entry.entry(key).or_insert(value);
                }
            }
        }
        if !http_request.is_empty() {
            entry.insert("httpRequest".into(), Value::Object(http_request));
        }
        Value::Object(entry)
    }
}

/// Cloud Logging's severities; `TRACE` has none of its own.
pub fn severity(level: &Level) -> &'static str {
    match *level {
        Level::ERROR => "ERROR",
        Level::WARN => "WARNING",
        Level::INFO => "INFO",
        Level::DEBUG | Level::TRACE => "DEBUG",
    }
}

fn now_rfc3339() -> String {
    chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Micros, true)
}

/// The fields of every span around the event, outermost first so inner spans win.
fn span_fields<S, N>(ctx: &FmtContext<'_, S, N>) -> Map<String, Value>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    let mut fields = Map::new();
    let Some(scope) = ctx.event_scope() else {
        return fields;
    };
    for span in scope.from_root() {
        let extensions = span.extensions();
        let Some(stored) = extensions.get::<FormattedFields<N>>() else {
            continue;
        };
        // `JsonFields` stores an object, or nothing for a span without fields.
        if let Ok(Value::Object(map)) = serde_json::from_str::<Value>(stored.as_str()) {
            fields.extend(map);
        }
    }
    fields
}

/// Collects an event's fields as JSON values, keeping numbers and booleans typed.
#[derive(Default)]
struct JsonVisitor(Map<String, Value>);

impl Visit for JsonVisitor {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().to_owned(), format!("{value:?}").into());
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().to_owned(), value.into());
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        // The whole cause chain, so one line says what failed and why.
        let mut chain = value.to_string();
        let mut source = value.source();
        while let Some(cause) = source {
            chain.push_str(": ");
            chain.push_str(&cause.to_string());
            source = cause.source();
        }
        self.0.insert(field.name().to_owned(), chain.into());
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::{Arc, Mutex};
    use tracing_subscriber::fmt::format::JsonFields;

    /// Formats what `f` logs, one JSON value per line.
    fn capture(project: Option<&str>, f: impl FnOnce()) -> Vec<Value> {
        let buffer = Arc::new(Mutex::new(Vec::<u8>::new()));
        let sink = Arc::clone(&buffer);
        let subscriber = tracing_subscriber::fmt()
            .with_max_level(Level::DEBUG)
            .fmt_fields(JsonFields::new())
            .event_format(CloudLogging {
                project: project.map(str::to_owned),
            })
            .with_writer(move || SharedWriter(Arc::clone(&sink)))
            .finish();
        tracing::subscriber::with_default(subscriber, f);
        let text = String::from_utf8(buffer.lock().unwrap().clone()).unwrap();
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect()
    }

    struct SharedWriter(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for SharedWriter {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }

        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn levels_become_cloud_logging_severities() {
        let lines = capture(None, || {
            tracing::debug!("d");
            tracing::info!("i");
            tracing::warn!("w");
            tracing::error!("e");
        });
        let severities: Vec<&str> = lines
            .iter()
            .map(|l| l["severity"].as_str().unwrap())
            .collect();
        assert_eq!(severities, ["DEBUG", "INFO", "WARNING", "ERROR"]);
        assert!(lines.iter().all(|l| l.get("level").is_none()));
        assert_eq!(lines[1]["message"], "i");
        assert!(lines[1]["time"].as_str().unwrap().ends_with('Z'));
    }

    #[test]
    fn span_trace_ids_become_the_trace_fields() {
        let lines = capture(Some("proj"), || {
            let span = tracing::info_span!(
                "request",
                trace_id = "4bf92f3577b34da6a3ce929d0e0e4736",
                span_id = "00f067aa0ba902b7",
                trace_sampled = true,
                message_id = "m-1",
            );
            let _entered = span.enter();
            tracing::info!(rows = 3, "written");
        });
        let line = &lines[0];
        assert_eq!(
            line[TRACE_KEY],
            "projects/proj/traces/4bf92f3577b34da6a3ce929d0e0e4736"
        );
        assert_eq!(line[SPAN_KEY], "00f067aa0ba902b7");
        assert_eq!(line[SAMPLED_KEY], true);
        assert_eq!(line["message_id"], "m-1");
        assert_eq!(line["rows"], 3);
        assert!(line.get(TRACE_ID).is_none());
    }

    #[test]
    fn http_request_fields_nest_into_one_object() {
        let lines = capture(None, || {
            tracing::info!(
                httpRequest.requestMethod = "GET",
                httpRequest.status = 200_u64,
                httpRequest.latency = "0.012000s",
                "request completed"
            );
        });
        let http = &lines[0]["httpRequest"];
        assert_eq!(http["requestMethod"], "GET");
        assert_eq!(http["status"], 200);
        assert_eq!(http["latency"], "0.012000s");
        assert!(lines[0].get("httpRequest.status").is_none());
    }
}
