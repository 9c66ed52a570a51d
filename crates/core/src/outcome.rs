//! What each result means for acknowledgement: the one place that decides.

use crate::reason::ReasonCode;
use crate::store::{ItemOutcome, StoreError};

/// How one push request ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Stored,
    Duplicate,
    DeadLettered(ReasonCode),
    /// Not acknowledged; Pub/Sub delivers the message again.
    Retry(RetryReason),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryReason {
    /// The store failed or timed out.
    StoreUnavailable,
    /// The write queue is full: shed load instead of queueing without bound.
    Overloaded,
    /// The process is shutting down.
    ShuttingDown,
}

impl RetryReason {
    pub fn as_str(self) -> &'static str {
        match self {
            RetryReason::StoreUnavailable => "store_unavailable",
            RetryReason::Overloaded => "overloaded",
            RetryReason::ShuttingDown => "shutting_down",
        }
    }
}

impl Outcome {
    /// The outcome of writing one item, given the rejection it carried (if it was a
    /// dead-letter record).
    pub fn of_write(
        result: &Result<ItemOutcome, StoreError>,
        dead_letter_reason: Option<ReasonCode>,
    ) -> Outcome {
        match result {
            Ok(ItemOutcome::Stored) => Outcome::Stored,
            Ok(ItemOutcome::Duplicate) => Outcome::Duplicate,
            Ok(ItemOutcome::DeadLettered) => {
                Outcome::DeadLettered(dead_letter_reason.unwrap_or(ReasonCode::RejectedByStore))
            }
            // The batcher dead-letters refused rows before answering; a refusal that
            // reaches here was not made durable, so it must not be acknowledged.
            Ok(ItemOutcome::Refused(_)) | Err(_) => Outcome::Retry(RetryReason::StoreUnavailable),
        }
    }

    /// Whether Pub/Sub should consider the message delivered.
    pub fn acknowledged(self) -> bool {
        !matches!(self, Outcome::Retry(_))
    }

    /// The push response status: any 2xx acknowledges; 503 asks for redelivery.
    pub fn http_status(self) -> u16 {
        if self.acknowledged() { 204 } else { 503 }
    }

    /// The `outcome` metric label.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Stored => "stored",
            Outcome::Duplicate => "duplicate",
            Outcome::DeadLettered(_) => "dead_lettered",
            Outcome::Retry(_) => "retried",
        }
    }

    /// The `reason` metric label.
    pub fn reason(self) -> &'static str {
        match self {
            Outcome::DeadLettered(code) => code.as_str(),
            Outcome::Retry(reason) => reason.as_str(),
            Outcome::Stored | Outcome::Duplicate => "none",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reason::Rejection;

    #[test]
    fn only_durable_outcomes_are_acknowledged() {
        let fault = || Err(StoreError::new("write", "disk on fire"));
        let cases: Vec<(Result<ItemOutcome, StoreError>, Option<ReasonCode>, u16)> = vec![
            (Ok(ItemOutcome::Stored), None, 204),
            (Ok(ItemOutcome::Duplicate), None, 204),
            (
                Ok(ItemOutcome::DeadLettered),
                Some(ReasonCode::InvalidJson),
                204,
            ),
            (
                Ok(ItemOutcome::Refused(Rejection::new(
                    ReasonCode::RejectedByStore,
                    "x",
                ))),
                None,
                503,
            ),
            (fault(), None, 503),
            (fault(), Some(ReasonCode::InvalidJson), 503),
        ];
        for (result, reason, status) in cases {
            let outcome = Outcome::of_write(&result, reason);
            assert_eq!(outcome.http_status(), status, "{result:?}");
        }
    }

    #[test]
    fn dead_letters_carry_their_reason_into_labels() {
        let outcome = Outcome::of_write(
            &Ok(ItemOutcome::DeadLettered),
            Some(ReasonCode::UnknownField),
        );
        assert_eq!(
            (outcome.label(), outcome.reason()),
            ("dead_lettered", "unknown_field")
        );
    }
}
