//! `GET /data`.

use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use pipeline_core::query::PageQuery;
use pipeline_core::schema::Field;
use pipeline_core::wire::WireRow;
use pipeline_service::problem::Problem;
use serde::Serialize;

use crate::ApiState;

#[derive(Serialize)]
struct PageBody<'a> {
    rows: Vec<WireRow<'a>>,
    next_page_token: Option<String>,
}

pub async fn handle(State(state): State<ApiState>, RawQuery(raw): RawQuery) -> Response {
    let params: Vec<(String, String)> =
        match serde_urlencoded::from_str(raw.as_deref().unwrap_or("")) {
            Ok(params) => params,
            Err(err) => {
                return Problem::bad_request(format!("unreadable query string: {err}"))
                    .into_response();
            }
        };
    let query = match PageQuery::parse(&state.schema, &params, state.limits) {
        Ok(query) => query,
        Err(err) => {
            return Problem::bad_request(err.detail)
                .param(err.param)
                .into_response();
        }
    };

    let page = match state.store.query(&query).await {
        Ok(page) => page,
        Err(err) => {
            tracing::error!(store = state.store.kind(), error = %err, "page query failed");
            return Problem::unavailable("the store could not answer; try again").into_response();
        }
    };

    let fields: Vec<&Field> = query
        .columns
        .iter()
        .map(|&i| &state.schema.columns[i])
        .collect();
    let body = PageBody {
        rows: page
            .rows
            .iter()
            .map(|row| WireRow {
                fields: &fields,
                values: &row.values,
            })
            .collect(),
        next_page_token: page
            .next
            .as_ref()
            .map(|c| query.page_token(&state.schema, c)),
    };
    match serde_json::to_vec(&body) {
        Ok(bytes) => ([(header::CONTENT_TYPE, "application/json")], bytes).into_response(),
        Err(err) => {
            tracing::error!(error = %err, "failed to encode a page");
            Problem::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            )
            .into_response()
        }
    }
}
