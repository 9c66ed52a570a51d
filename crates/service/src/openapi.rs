//! OpenAPI 3.1 pieces both services share: the problem body, the health, readiness
//! and metrics operations, and serving a built document at `/openapi.json`.
//!
//! Documents are built in code (utoipa's builders) from the routes and the table
//! schema, so a column added to `schemas/` appears in `/data`'s parameters. The
//! committed copies under `docs/openapi/` are checked by a test
//! (`tests/integration/openapi.rs`).

use std::sync::Arc;

use axum::http::header;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::response::{Response as ApiResponse, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::{ComponentsBuilder, OpenApi, Ref, RefOr, Schema};

pub const PROBLEM: &str = "Problem";

/// The RFC 9457 body of every error answer.
pub fn problem_schema() -> Schema {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    ObjectBuilder::new()
        .property("type", string())
        .property("title", string())
        .property("status", ObjectBuilder::new().schema_type(Type::Integer))
        .property("detail", string())
        .property(
            "param",
            string().description(Some("The parameter at fault.")),
        )
        .required("type")
        .required("title")
        .required("status")
        .into()
}

/// An error answer with a problem body (and `Retry-After` when `retry`).
pub fn problem(description: &str, retry: bool) -> ApiResponse {
    let content = ContentBuilder::new()
        .schema(Some(Ref::from_schema_name(PROBLEM)))
        .build();
    let mut response = ResponseBuilder::new()
        .description(description)
        .content("application/problem+json", content);
    if retry {
        let seconds = HeaderBuilder::new()
            .schema(ObjectBuilder::new().schema_type(Type::Integer))
            .description(Some("Seconds to wait before trying again."))
            .build();
        response = response.header("Retry-After", seconds);
    }
    response.build()
}

/// A JSON answer with an object body.
pub fn json(description: &str, schema: impl Into<RefOr<Schema>>) -> ApiResponse {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            ContentBuilder::new().schema(Some(schema)).build(),
        )
        .build()
}

/// `/healthz`, `/readyz`, `/metrics`, `/openapi.json`.
pub fn operational_paths() -> Vec<(&'static str, PathItem)> {
    let object = || ObjectBuilder::new().schema_type(Type::Object);
    let get = |id: &str, summary: &str, ok: ApiResponse, unavailable: bool| {
        let mut op = OperationBuilder::new()
            .operation_id(Some(id))
            .summary(Some(summary))
            .tag("operations")
            .response("200", ok);
        if unavailable {
            op = op.response("503", problem("The store is not reachable.", true));
        }
        PathItem::new(HttpMethod::Get, op.build())
    };
    let text = ResponseBuilder::new()
        .description("Prometheus text exposition.")
        .content(
            "text/plain",
            ContentBuilder::new()
                .schema(Some(ObjectBuilder::new().schema_type(Type::String)))
                .build(),
        )
        .build();
    vec![
        (
            "/healthz",
            get(
                "healthz",
                "The process answers.",
                json("Alive.", object()),
                false,
            ),
        ),
        (
            "/readyz",
            get(
                "readyz",
                "The store answers too.",
                json("Ready.", object()),
                true,
            ),
        ),
        (
            "/metrics",
            get("metrics", "Prometheus metrics.", text, false),
        ),
        (
            "/openapi.json",
            get(
                "openapi",
                "This document.",
                json("OpenAPI 3.1.", object()),
                false,
            ),
        ),
    ]
}

/// Components every document carries.
pub fn components() -> ComponentsBuilder {
    ComponentsBuilder::new().schema(PROBLEM, problem_schema())
}

/// The document as served and committed: pretty JSON with a trailing newline.
pub fn to_json(doc: &OpenApi) -> String {
    let mut text = doc
        .to_pretty_json()
        .unwrap_or_else(|e| unreachable!("an OpenAPI document always serialises: {e}"));
    text.push('\n');
    text
}

/// A handler body serving a prebuilt document.
pub fn serve(doc: Arc<String>) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        doc.as_str().to_owned(),
    )
        .into_response()
}
