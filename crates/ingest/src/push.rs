//! The push handler: decode, validate, submit, answer by outcome.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use pipeline_core::batch::SubmitError;
use pipeline_core::names;
use pipeline_core::outcome::{Outcome, RetryReason};
use pipeline_core::push::{self, Data, Message};
use pipeline_core::reason::ReasonCode;
use pipeline_core::store::{DeadLetter, RowRecord, WriteItem};
use pipeline_core::validate::validate;
use pipeline_service::problem::Problem;

use crate::IngestState;

pub const OUTCOME_HEADER: &str = "x-pipeline-outcome";

pub async fn handle(State(state): State<IngestState>, headers: HeaderMap, body: Bytes) -> Response {
    let message = match decode(&headers, body) {
        Ok(message) => message,
        // A caller's mistake, not a server error: logged at debug, answered 400.
        Err(err) => {
            tracing::debug!(error = %err, "not a push request");
            return Problem::bad_request(err.to_string()).into_response();
        }
    };

    let id = message.id.clone();
    let item = to_item(&state, message);
    let dead_letter_reason = match &item {
        WriteItem::DeadLetter(dl) => Some(dl.rejection.clone()),
        WriteItem::Row(_) => None,
    };

    let outcome = match state.batcher.submit(item).await {
        Ok(result) => Outcome::of_write(&Ok(result), dead_letter_reason.as_ref().map(|r| r.reason)),
        Err(SubmitError::Overloaded) => Outcome::Retry(RetryReason::Overloaded),
        Err(SubmitError::Closed) => Outcome::Retry(RetryReason::ShuttingDown),
        Err(SubmitError::Store(err)) => {
            tracing::warn!(message_id = %id, error = %err, "store write failed; asking for redelivery");
            Outcome::Retry(RetryReason::StoreUnavailable)
        }
    };

    metrics::counter!(names::INGEST_MESSAGES_TOTAL, "outcome" => outcome.label(), "reason" => outcome.reason())
        .increment(1);
    if let (Outcome::DeadLettered(_), Some(rejection)) = (outcome, &dead_letter_reason) {
        // Once per message, with the reason code; never the payload.
        tracing::info!(
            message_id = %id,
            reason = rejection.reason.as_str(),
            field = rejection.field.as_deref().unwrap_or(""),
            "message dead-lettered"
        );
    }
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

fn to_item(state: &IngestState, message: Message) -> WriteItem {
    let rejection = match &message.data {
        Data::Undecodable(_) => Err(pipeline_core::reason::Rejection::new(
            ReasonCode::InvalidBase64,
            "message.data is not base64",
        )),
        Data::Bytes(bytes) => validate(&state.schema, bytes, &state.validate),
    };
    match rejection {
        Ok(row) => {
            if row.dropped_fields > 0 {
                metrics::counter!(names::INGEST_UNKNOWN_FIELDS_DROPPED_TOTAL)
                    .increment(row.dropped_fields as u64);
            }
            let payload = match message.data {
                Data::Bytes(bytes) => bytes,
                Data::Undecodable(text) => text.into_bytes(),
            };
            WriteItem::Row(RowRecord {
                message_id: message.id,
                publish_time: message.publish_time,
                attributes: message.attributes,
                values: row.values,
                payload,
            })
        }
        Err(rejection) => WriteItem::DeadLetter(DeadLetter {
            payload: message.data.raw().to_vec(),
            message_id: message.id,
            publish_time: Some(message.publish_time),
            attributes: message.attributes,
            rejection,
        }),
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
