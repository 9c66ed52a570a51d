//! The data API: `GET /data`.
//!
//! Query syntax (see `docs/api.md`): `col=v`, `col.gt=v` (and `ne`, `gte`, `lt`, `lte`),
//! `fields=a,b`, `order=asc|desc`, `limit=N`, `page_token=...`. The answer is
//! `{"rows": [...], "next_page_token": "..." | null}` in the wire encoding of
//! `pipeline_core::wire` (INT64 and NUMERIC as strings).

pub mod config;
mod data;

use std::sync::Arc;

use axum::Router;
use axum::routing::get;
use pipeline_core::query::QueryLimits;
use pipeline_core::schema::TableSchema;
use pipeline_core::store::Store;
use pipeline_service::{health, http_metrics, telemetry};

pub const SERVICE: &str = "data-api";

#[derive(Clone)]
pub struct ApiState {
    pub schema: Arc<TableSchema>,
    pub store: Arc<dyn Store>,
    pub limits: QueryLimits,
}

/// Builds the data-api router over a store (no socket: tests drive it in process).
pub fn build(schema: Arc<TableSchema>, store: Arc<dyn Store>, limits: QueryLimits) -> Router {
    http_metrics::register_build_info(SERVICE);
    let state = ApiState {
        schema,
        store: Arc::clone(&store),
        limits,
    };
    Router::new()
        .route("/data", get(data::handle).with_state(state))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz).with_state(store))
        .route("/metrics", get(http_metrics::render))
        .layer(axum::middleware::from_fn(|req, next| {
            http_metrics::track(SERVICE, req, next)
        }))
        // Outermost: the request span and access log cover every other layer.
        .layer(axum::middleware::from_fn(|req, next| {
            telemetry::access_log::layer(SERVICE, req, next)
        }))
}
