//! The data API: `GET /data`.
//!
//! Query syntax (see `docs/api.md`): `col=v`, `col.gt=v` (and `ne`, `gte`, `lt`, `lte`),
//! `fields=a,b`, `order=asc|desc`, `limit=N`, `page_token=...`. The answer is
//! `{"rows": [...], "next_page_token": "..." | null}` in the wire encoding of
//! `pipeline_core::wire` (INT64 and NUMERIC as strings).

pub mod access;
mod cache;
pub mod config;
mod data;
pub mod openapi;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::middleware::from_fn_with_state;
use axum::routing::get;
use pipeline_core::query::QueryLimits;
use pipeline_core::schema::TableSchema;
use pipeline_core::store::Store;
use pipeline_service::auth::{self, Access};
use pipeline_service::limits::{self, Gate};
use pipeline_service::{health, http_metrics, telemetry};

pub const SERVICE: &str = "data-api";

#[derive(Clone)]
pub struct ApiState {
    pub schema: Arc<TableSchema>,
    pub store: Arc<dyn Store>,
    pub limits: QueryLimits,
    pub cache: cache::PageCache,
}

/// How the data API answers: query limits, who may read, caching, and load bounds.
#[derive(Debug, Clone)]
pub struct ApiOptions {
    pub limits: QueryLimits,
    pub access: Access,
    /// How long identical queries are answered from memory; zero turns caching off.
    pub cache_ttl: Duration,
    pub cache_max_bytes: u64,
    /// `/data` requests in flight before more are shed with 503.
    pub max_in_flight: usize,
    pub timeout: Duration,
}

impl Default for ApiOptions {
    fn default() -> Self {
        ApiOptions {
            limits: QueryLimits::default(),
            access: Access::Open,
            cache_ttl: Duration::from_secs(2),
            cache_max_bytes: 64 * 1024 * 1024,
            max_in_flight: 256,
            timeout: Duration::from_secs(5),
        }
    }
}

/// Builds the data-api router with `limits`, no caching and no authentication: every
/// read sees every write at once (what most tests want). See [`build_with`].
pub fn build(schema: Arc<TableSchema>, store: Arc<dyn Store>, limits: QueryLimits) -> Router {
    let options = ApiOptions {
        limits,
        cache_ttl: Duration::ZERO,
        ..ApiOptions::default()
    };
    build_with(schema, store, options)
}

/// Builds the data-api router over a store (no socket: tests drive it in process).
pub fn build_with(schema: Arc<TableSchema>, store: Arc<dyn Store>, options: ApiOptions) -> Router {
    http_metrics::register_build_info(SERVICE);
    let openapi_json = Arc::new(pipeline_service::openapi::to_json(&openapi::document(
        &schema,
        options.limits,
    )));
    let state = ApiState {
        schema,
        store: Arc::clone(&store),
        limits: options.limits,
        cache: cache::PageCache::new(options.cache_ttl, options.cache_max_bytes),
    };
    // Health, readiness and metrics stay outside the gate so probes answer under load.
    let data_route = get(data::handle)
        .with_state(state)
        .layer(from_fn_with_state((SERVICE, options.access), auth::require))
        .layer(from_fn_with_state(
            Gate::new(options.max_in_flight, options.timeout),
            limits::gate,
        ));
    Router::new()
        .route("/data", data_route)
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
        .layer(axum::middleware::from_fn(|req, next| {
            http_metrics::track(SERVICE, req, next)
        }))
        // Outermost: the request span and access log cover every other layer.
        .layer(axum::middleware::from_fn(|req, next| {
            telemetry::access_log::layer(SERVICE, req, next)
        }))
}
