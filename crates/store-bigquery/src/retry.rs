//! Retry is a decision, made here once: which failures are worth another attempt, how
//! long one attempt may take, and how long all attempts together may take.
//!
//! Timeouts, 5xx, 429 and gRPC UNAVAILABLE / DEADLINE_EXCEEDED / RESOURCE_EXHAUSTED /
//! INTERNAL / ABORTED are transient and retried with exponential backoff; anything else
//! (a missing table, a permission error, a bad request) will not get better by itself
//! and is returned at once. Either way a failure that is left becomes a `StoreError`:
//! the message is not acknowledged and Pub/Sub delivers it again.

use std::future::Future;
use std::time::Duration;

use backon::{ExponentialBuilder, Retryable};
use google_cloud_bigquery::error::{QueryError, RowError};
use google_cloud_gax::error::Error as GaxError;
use google_cloud_gax::error::rpc::Code;
use pipeline_core::store::StoreError;

#[derive(Debug, Clone, Copy)]
pub struct RetryConfig {
    /// One call; without it a wrong endpoint hangs for over 35 s (measured).
    pub attempt_timeout: Duration,
    /// All attempts and the sleeps between them; kept under the batcher's write timeout
    /// so a failure is answered as a 503 rather than abandoned.
    pub total: Duration,
}

impl Default for RetryConfig {
    fn default() -> Self {
        RetryConfig {
            attempt_timeout: Duration::from_secs(5),
            total: Duration::from_secs(7),
        }
    }
}

/// A failed attempt, classified.
#[derive(Debug)]
pub struct CallError {
    pub transient: bool,
    pub message: String,
}

impl std::fmt::Display for CallError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for CallError {}

impl CallError {
    pub fn permanent(message: impl Into<String>) -> CallError {
        CallError {
            transient: false,
            message: message.into(),
        }
    }

    /// Classifies an error from the official client.
    pub fn from_gax(error: &GaxError) -> CallError {
        CallError {
            transient: is_transient(error),
            message: error.to_string(),
        }
    }

    /// Classifies a query failure: a failed job (bad SQL, a missing table) is final.
    pub fn from_query(error: &QueryError) -> CallError {
        match error {
            QueryError::Rpc { source, .. } => CallError::from_gax(source),
            other => CallError::permanent(other.to_string()),
        }
    }

    /// Classifies a failure while reading result pages.
    pub fn from_row(error: &RowError) -> CallError {
        match error {
            RowError::Rpc { source, .. } => CallError::from_gax(source),
            other => CallError::permanent(other.to_string()),
        }
    }
}

pub fn is_transient(error: &GaxError) -> bool {
    if error.is_timeout() || error.is_io() || error.is_connect() || error.is_exhausted() {
        return true;
    }
    if let Some(code) = error.http_status_code() {
        return code == 429 || code >= 500;
    }
    match error.status().map(|s| s.code) {
        Some(
            Code::Unavailable
            | Code::DeadlineExceeded
            | Code::ResourceExhausted
            | Code::Internal
            | Code::Aborted,
        ) => true,
        Some(_) => false,
        // No status and no HTTP code: the request never got an answer.
        None => error.is_transport(),
    }
}

/// Runs `call` with an attempt timeout, retrying transient failures within the budget.
pub async fn retrying<T, F, Fut>(
    what: &str,
    config: RetryConfig,
    mut call: F,
) -> Result<T, StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T, CallError>>,
{
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(100))
        .with_max_delay(Duration::from_secs(2))
        .with_jitter()
        .with_total_delay(Some(config.total))
        .without_max_times();
    let attempt = || {
        let future = call();
        async move {
            match tokio::time::timeout(config.attempt_timeout, future).await {
                Ok(result) => result,
                Err(_) => Err(CallError {
                    transient: true,
                    message: format!("no answer within {:?}", config.attempt_timeout),
                }),
            }
        }
    };
    attempt
        .retry(backoff)
        .when(|e| e.transient)
        .notify(|error, delay| {
            tracing::warn!(
                call = what, %error, retry_in = ?delay, "bigquery call failed; retrying"
            );
        })
        .await
        .map_err(|e| StoreError::new(format!("bigquery {what} failed"), e))
}
