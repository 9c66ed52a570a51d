//! `/healthz` (the process answers) and `/readyz` (the store answers too).

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use pipeline_core::store::Store;
use serde_json::json;

use crate::problem::Problem;

pub async fn healthz() -> Json<serde_json::Value> {
    Json(json!({ "status": "ok" }))
}

pub async fn readyz(State(store): State<Arc<dyn Store>>) -> Response {
    match store.ready().await {
        Ok(()) => Json(json!({ "status": "ready", "store": store.kind() })).into_response(),
        Err(err) => {
            tracing::warn!(store = store.kind(), error = %err, "store not ready");
            Problem::unavailable("the store is not reachable").into_response()
        }
    }
}
