//! The ingest service: `POST /pubsub/push`.
//!
//! Every message ends in one outcome, and the outcome decides the answer:
//!
//! | outcome | store effect | answer |
//! |---|---|---|
//! | stored | one row | 204 |
//! | duplicate (message id seen) | none | 204 |
//! | rejected (can never be valid) | one dead-letter record | 204 |
//! | store fault, overload, shutdown | none | 503 + `Retry-After` (Pub/Sub redelivers) |
//! | not a push request | none | 400 |
//!
//! The 2xx answers carry `X-Pipeline-Outcome` so tools (and tests) can tell them apart.

pub mod auth;
pub mod config;
pub mod openapi;
pub mod process;
pub mod pull;
mod push;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware::from_fn_with_state;
use axum::routing::{get, post};
use pipeline_core::batch::{BatchConfig, Batcher};
use pipeline_core::schema::TableSchema;
use pipeline_core::store::Store;
use pipeline_core::validate::ValidateOptions;
use pipeline_service::auth::{self as auth_mw, Access};
use pipeline_service::limits::{self, Gate};
use pipeline_service::{health, http_metrics, telemetry};
use tokio::task::JoinHandle;

/// The largest push body accepted: 14 MiB, answered 413 beyond (nothing written).
///
/// Pub/Sub allows messages up to 10 MB, and a wrapped push carries the data
/// base64-encoded (4/3 larger: 13.3 MB for 10 MB), so 14 MiB admits every message
/// Pub/Sub can send, with room for the envelope and attributes.
pub const MAX_BODY_BYTES: usize = 14 * 1024 * 1024;

pub const SERVICE: &str = "ingest";

/// Everything a push handler needs.
#[derive(Clone)]
pub struct IngestState {
    pub schema: Arc<TableSchema>,
    pub batcher: Batcher,
    pub validate: Arc<ValidateOptions>,
}

/// A running ingest pipeline: the router and the batch writer behind it.
pub struct Ingest {
    pub router: Router,
    /// Ends when the router (and so every batcher handle) is dropped and the queue is
    /// drained; await it after the server stops to be sure every batch was answered.
    pub writer: JoinHandle<()>,
    /// For pull mode ([`pull`]). It holds a batcher handle too: drop it (and its
    /// clones) before awaiting `writer`, or the writer waits for it.
    pub state: IngestState,
}

#[derive(Debug, Clone)]
pub struct IngestOptions {
    pub validate: ValidateOptions,
    pub batch: BatchConfig,
    /// Who may push; [`Access::Open`] only when configured `off` (logged loudly).
    pub push_auth: Access,
    /// Push requests in flight before more are shed with 503.
    pub max_in_flight: usize,
    /// Deadline for one push request, body included.
    pub timeout: Duration,
}

impl Default for IngestOptions {
    fn default() -> Self {
        IngestOptions {
            validate: ValidateOptions::default(),
            batch: BatchConfig::default(),
            push_auth: Access::Open,
            max_in_flight: 512,
            timeout: Duration::from_secs(8),
        }
    }
}

/// Builds the ingest router over a store (no socket: tests drive it in process).
pub fn build(schema: Arc<TableSchema>, store: Arc<dyn Store>, options: IngestOptions) -> Ingest {
    let (batcher, writer) = Batcher::spawn(Arc::clone(&store), options.batch);
    let state = IngestState {
        schema,
        batcher,
        validate: Arc::new(options.validate),
    };
    http_metrics::register_build_info(SERVICE);
    let openapi_json = Arc::new(pipeline_service::openapi::to_json(&openapi::document(
        &state.schema,
    )));
    if options.push_auth.is_open() {
        tracing::warn!(
            "PUSH AUTHENTICATION IS OFF: anyone who can reach /pubsub/push can write rows; \
             set PIPELINE_PUSH_AUTH=oidc outside local use"
        );
    }
    // Health, readiness and metrics stay outside the gate so probes answer under load.
    let push_route = post(push::handle)
        .with_state(state.clone())
        .layer(from_fn_with_state(
            (SERVICE, options.push_auth),
            auth_mw::require,
        ))
        .layer(from_fn_with_state(
            Gate::new(options.max_in_flight, options.timeout),
            limits::gate,
        ));

    let router = Router::new()
        .route("/pubsub/push", push_route)
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz).with_state(store))
        .route("/metrics", get(http_metrics::render))
        .route(
            "/openapi.json",
            get(move || {
                let doc = Arc::clone(&openapi_json);
                async move { pipeline_service::openapi::serve(doc) }
            }),
        )
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn(|req, next| {
            http_metrics::track(SERVICE, req, next)
        }))
        // Outermost: the request span and access log cover every other layer.
        .layer(axum::middleware::from_fn(|req, next| {
            telemetry::access_log::layer(SERVICE, req, next)
        }));
    Ingest {
        router,
        writer,
        state,
    }
}

/// How long shutdown waits for queued batches after the server stops taking requests.
///
/// Cloud Run kills the container 10 s after SIGTERM: connections get
/// `pipeline_service::serve::CONNECTION_DRAIN_TIMEOUT` (5 s), the writer this, so the
/// process is gone in about 8 s. A batch still uncommitted then was never acknowledged,
/// so Pub/Sub delivers its messages again: nothing is lost, only retried.
pub const DRAIN_TIMEOUT: Duration = Duration::from_secs(3);
