//! The publisher's trace, carried inside a Pub/Sub message.
//!
//! Pub/Sub's OpenTelemetry integration puts the publisher's W3C `traceparent` in the
//! message attribute `googclient_traceparent`. A push request's own trace (from its
//! headers) is the delivery; this one is the message's story from its publisher, so
//! the work done for the message joins the publisher's trace.

use std::collections::BTreeMap;

use tracing::field::Empty;

use super::otlp;
use super::trace_context::{PUBSUB_TRACEPARENT, Remote};

/// A `message` span for processing one message. When the message carries a valid
/// `googclient_traceparent`, the span joins that trace (lines logged inside it carry
/// the publisher's trace id) and links back to the span current here (the push request
/// or pull loop); otherwise it is an ordinary child of the current span. It declares
/// `message_id`, `outcome` and `reason` for the processing code to record.
pub fn message_span(attributes: &BTreeMap<String, String>) -> tracing::Span {
    let span = tracing::info_span!(
        "message",
        otel.kind = "consumer",
        message_id = Empty,
        outcome = Empty,
        reason = Empty,
        trace_id = Empty,
        span_id = Empty,
        trace_sampled = Empty,
    );
    let publisher = attributes
        .get(PUBSUB_TRACEPARENT)
        .and_then(|v| Remote::parse_traceparent(v));
    if let Some(remote) = publisher {
        span.follows_from(tracing::Span::current());
        otlp::adopt(&span, Some(remote)).record_on(&span);
    }
    span
}
