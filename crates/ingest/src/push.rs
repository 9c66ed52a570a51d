//! The push handler: decode, then [`crate::process::process`], then answer by outcome.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pipeline_core::outcome::{Outcome, RetryReason};
use pipeline_core::push::{self, Message};
use pipeline_service::problem::Problem;
use pipeline_service::telemetry::message_trace;
use tracing::Instrument;

use crate::IngestState;

pub const OUTCOME_HEADER: &str = "x-pipeline-outcome";

/// The body never reaches a span; the `message` span records the id and outcome.
#[tracing::instrument(name = "push", skip_all)]
pub async fn handle(State(state): State<IngestState>, headers: HeaderMap, body: Bytes) -> Response {
    let message = match decode(&headers, body) {
        Ok(message) => message,
        // A caller's mistake, not a server error: logged at debug, answered 400.
        Err(err) => {
            tracing::debug!(error = %err, "not a push request");
            return Problem::bad_request(err.to_string()).into_response();
        }
    };

    // In the publisher's trace when the message carries one (googclient_traceparent).
    let span = message_trace::message_span(&message.attributes);
    let outcome = crate::process::process(&state, message)
        .instrument(span)
        .await;
    respond(outcome)
}

fn decode(headers: &HeaderMap, body: Bytes) -> Result<Message, push::PushError> {
    if push::is_unwrapped(headers.keys().map(|k| k.as_str())) {
        let pairs = headers
            .iter()
            .filter_map(|(k, v)| Some((k.as_str(), v.to_str().ok()?)));
        push::decode_unwrapped(pairs, body.to_vec())
    } else {
        push::decode_wrapped(&body)
    }
}

fn respond(outcome: Outcome) -> Response {
    match outcome {
        Outcome::Retry(reason) => {
            let detail = match reason {
                RetryReason::StoreUnavailable => "the store is unavailable; deliver again later",
                RetryReason::Overloaded => "too many messages are waiting; deliver again later",
                RetryReason::ShuttingDown => "this instance is shutting down; deliver again",
            };
            let mut response = Problem::unavailable(detail).into_response();
            response
                .headers_mut()
                .insert(OUTCOME_HEADER, HeaderValue::from_static("retried"));
            response
        }
        _ => {
            let mut response = StatusCode::NO_CONTENT.into_response();
            response
                .headers_mut()
                .insert(OUTCOME_HEADER, HeaderValue::from_static(outcome.label()));
            if let Outcome::DeadLettered(reason) = outcome {
                response.headers_mut().insert(
                    "x-pipeline-reason",
                    HeaderValue::from_static(reason.as_str()),
                );
            }
            response
        }
    }
}
