//! Bounded work per instance: a cap on requests in flight with load shedding, and a
//! deadline per request.
//!
//! A request over the cap is answered 503 with `Retry-After` at once instead of
//! waiting in an unbounded queue: Pub/Sub redelivers, and a `/data` caller retries,
//! while the instance keeps answering the requests it took. Apply [`gate`] to work
//! routes only; health and metrics stay outside it so probes answer under load.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use tokio::sync::Semaphore;

use crate::problem::Problem;

/// The cap and the deadline for one group of routes.
#[derive(Clone)]
pub struct Gate {
    permits: Arc<Semaphore>,
    timeout: Duration,
}

impl Gate {
    pub fn new(max_in_flight: usize, timeout: Duration) -> Gate {
        Gate {
            permits: Arc::new(Semaphore::new(max_in_flight.max(1))),
            timeout,
        }
    }
}

/// Middleware: sheds a request when `gate` is full, and answers 503 when the handler
/// (including reading the body) takes longer than the deadline. A push answered 503
/// after its row was written is redelivered and then found a duplicate, so the
/// deadline never loses or doubles a row.
pub async fn gate(State(gate): State<Gate>, request: Request, next: Next) -> Response {
    let Ok(_permit) = Arc::clone(&gate.permits).try_acquire_owned() else {
        tracing::debug!("request shed: too many in flight");
        return Problem::unavailable("too many requests in flight; try again shortly")
            .into_response();
    };
    match tokio::time::timeout(gate.timeout, next.run(request)).await {
        Ok(response) => response,
        Err(_) => {
            tracing::warn!(
                timeout_ms = gate.timeout.as_millis() as u64,
                "request timed out"
            );
            Problem::unavailable("the request took too long; try again").into_response()
        }
    }
}
