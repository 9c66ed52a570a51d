//! `GET /data`.

use std::time::Duration;

use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use pipeline_core::query::PageQuery;
use pipeline_core::schema::Field;
use pipeline_core::wire::WireRow;
use pipeline_service::problem::Problem;
use serde::Serialize;
use tracing::Instrument;
use tracing::field::Empty;

use crate::ApiState;
use crate::cache::{self, CachedPage};

#[derive(Serialize)]
struct PageBody<'a> {
    rows: Vec<WireRow<'a>>,
    next_page_token: Option<String>,
}

#[tracing::instrument(name = "data", skip_all)]
pub async fn handle(
    State(state): State<ApiState>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
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

    let key = cache::key(&state.schema, &query);
    match state.cache.get_or_load(key, load(&state, &query)).await {
        Ok(page) => respond(&page, state.cache.ttl(), &headers),
        Err(err) => match *err {
            PageError::Store => {
                Problem::unavailable("the store could not answer; try again").into_response()
            }
            PageError::Encode => Problem::new(
                axum::http::StatusCode::INTERNAL_SERVER_ERROR,
                "Internal Server Error",
            )
            .into_response(),
        },
    }
}

/// Why a page could not be produced; logged where it happened.
enum PageError {
    Store,
    Encode,
}

/// Runs the store query and encodes the page (what the cache stores).
async fn load(state: &ApiState, query: &PageQuery) -> Result<CachedPage, PageError> {
    let query_span = tracing::info_span!("store.query", store = state.store.kind(), rows = Empty);
    let page = match state
        .store
        .query(query)
        .instrument(query_span.clone())
        .await
    {
        Ok(page) => page,
        Err(err) => {
            tracing::error!(store = state.store.kind(), error = %err, "page query failed");
            return Err(PageError::Store);
        }
    };

    query_span.record("rows", page.rows.len());

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
    serde_json::to_vec(&body)
        .map(CachedPage::new)
        .map_err(|err| {
            tracing::error!(error = %err, "failed to encode a page");
            PageError::Encode
        })
}

/// 200 with the page, or 304 when the client already holds this body. Both carry the
/// validator and how long the client may reuse the page without asking.
fn respond(page: &CachedPage, ttl: Duration, request: &HeaderMap) -> Response {
    let cache_control = format!("private, max-age={}", ttl.as_secs());
    let not_modified = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| cache::matches(v, &page.etag));
    let headers = [
        (header::ETAG, page.etag.clone()),
        (header::CACHE_CONTROL, cache_control),
    ];
    if not_modified {
        return (StatusCode::NOT_MODIFIED, headers).into_response();
    }
    let content_type = [(header::CONTENT_TYPE, "application/json")];
    (headers, content_type, page.body.clone()).into_response()
}
