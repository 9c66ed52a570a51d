//! One message, however it arrived (push or pull), to one [`Outcome`]: validate,
//! submit to the batch writer, count and log. The caller turns the outcome into an
//! answer: an HTTP status for push, an ack or nack for pull.

use pipeline_core::batch::SubmitError;
use pipeline_core::names;
use pipeline_core::outcome::{Outcome, RetryReason};
use pipeline_core::push::{Data, Message};
use pipeline_core::reason::ReasonCode;
use pipeline_core::store::{DeadLetter, RowRecord, WriteItem};
use pipeline_core::validate::validate;
use tracing::Span;

use crate::IngestState;

/// Validates and stores (or dead-letters) one message; returns only once the result is
/// durable, or with [`Outcome::Retry`] when it is not. Records `message_id`, `outcome`
/// and `reason` on the current span when it declares them.
pub async fn process(state: &IngestState, message: Message) -> Outcome {
    let id = message.id.clone();
    Span::current().record("message_id", id.as_str());
    // Per-message lines at DEBUG: with both, a missing message can be shown never to
    // have arrived (how the emulator's loss under kill -9 was told from ours).
    tracing::debug!(message_id = %id, "message received");
    let item = to_item(state, message);
    let dead_letter_reason = match &item {
        WriteItem::DeadLetter(dl) => Some(dl.rejection.clone()),
        WriteItem::Row(_) => None,
    };

    let outcome = match state.batcher.submit(item).await {
        Ok(result) => Outcome::of_write(&Ok(result), dead_letter_reason.as_ref().map(|r| r.reason)),
        Err(SubmitError::Overloaded) => Outcome::Retry(RetryReason::Overloaded),
        Err(SubmitError::Closed) => Outcome::Retry(RetryReason::ShuttingDown),
        Err(SubmitError::Store(err)) => {
            tracing::warn!(
                message_id = %id,
                error = %err,
                "store write failed; asking for redelivery"
            );
            Outcome::Retry(RetryReason::StoreUnavailable)
        }
    };

    let labels = [("outcome", outcome.label()), ("reason", outcome.reason())];
    metrics::counter!(names::INGEST_MESSAGES_TOTAL, &labels).increment(1);
    Span::current().record("outcome", outcome.label());
    Span::current().record("reason", outcome.reason());
    tracing::debug!(
        message_id = %id,
        outcome = outcome.label(),
        reason = outcome.reason(),
        "message answered"
    );
    if let Outcome::DeadLettered(code) = outcome {
        // Once per message, with the reason code; never the payload. A row the store
        // refused (rejected_by_store) carries no validation rejection, so the code comes
        // from the outcome.
        let field = dead_letter_reason.as_ref().and_then(|r| r.field.as_deref());
        tracing::info!(
            message_id = %id,
            reason = code.as_str(),
            // Absent (not "") when the rejection names no field.
            field,
            "message dead-lettered"
        );
    }
    outcome
}

#[tracing::instrument(name = "validate", skip_all, fields(bytes = message.data.raw().len()))]
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
