//! The data API's OpenAPI 3.1 document, built from the routes and the table schema.

use pipeline_core::query::QueryLimits;
use pipeline_core::schema::{TableSchema, meta};
use pipeline_service::openapi::{self as doc, problem};
use utoipa::openapi::path::{
    HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn, PathItem,
};
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, Type};
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, Required};

const OPS: [&str; 5] = ["ne", "gt", "gte", "lt", "lte"];

/// The document for `schema` with `limits`.
pub fn document(schema: &TableSchema, limits: QueryLimits) -> OpenApi {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let query = |name: String, description: String, schema: ObjectBuilder| {
        ParameterBuilder::new()
            .name(name)
            .parameter_in(ParameterIn::Query)
            .required(Required::False)
            .description(Some(description))
            .schema(Some(schema))
            .build()
    };

    let mut op = OperationBuilder::new()
        .operation_id(Some("getData"))
        .summary(Some("A page of rows, filtered, projected and ordered."))
        .tag("data")
        .parameter(query(
            "limit".into(),
            format!("Rows per page, 1 to {}.", limits.max_limit),
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .minimum(Some(1))
                .maximum(Some(limits.max_limit as u64)),
        ))
        .parameter(query(
            "fields".into(),
            "Comma-separated column names to return, in order.".into(),
            string(),
        ))
        .parameter(query(
            "order".into(),
            "`desc` (newest first, the default) or `asc`.".into(),
            string().enum_values(Some(["desc", "asc"])),
        ))
        .parameter(query(
            "page_token".into(),
            "`next_page_token` of the previous page of the same query.".into(),
            string(),
        ));
    // Each filterable column: `col` (equality) and `col.<op>`; values are parsed by the
    // column's type, so they are strings on the wire.
    for (i, field) in schema.columns.iter().enumerate() {
        if !field.is_filterable() || i == meta::ATTRIBUTES {
            continue;
        }
        let ty = field.ty.as_str();
        op = op.parameter(query(
            field.name.clone(),
            format!("Rows whose `{}` ({ty}) equals the value.", field.name),
            string(),
        ));
        for o in OPS {
            op = op.parameter(query(
                format!("{}.{o}", field.name),
                format!("Rows whose `{}` ({ty}) is `{o}` the value.", field.name),
                string(),
            ));
        }
    }

    let etag = utoipa::openapi::header::HeaderBuilder::new()
        .schema(string())
        .description(Some("A digest of the body; send it back in If-None-Match."))
        .build();
    let cache_control = utoipa::openapi::header::HeaderBuilder::new()
        .schema(string())
        .description(Some("`private, max-age=<seconds>`."))
        .build();
    let ok = ResponseBuilder::new()
        .description("A page.")
        .content(
            "application/json",
            utoipa::openapi::content::ContentBuilder::new()
                .schema(Some(Ref::from_schema_name("Page")))
                .build(),
        )
        .header("ETag", etag.clone())
        .header("Cache-Control", cache_control)
        .build();
    let not_modified = ResponseBuilder::new()
        .description("The client's copy (If-None-Match) is current.")
        .header("ETag", etag)
        .build();
    let op = op
        .response("200", ok)
        .response("304", not_modified)
        .response(
            "400",
            problem("The query is malformed; `param` names the part.", false),
        )
        .response("401", problem("Credentials are missing or invalid.", false))
        .response("403", problem("The principal may not read.", false))
        .response(
            "503",
            problem("Overloaded, timed out or store unavailable.", true),
        )
        .security(utoipa::openapi::security::SecurityRequirement::default())
        .security(utoipa::openapi::security::SecurityRequirement::new::<
            _,
            _,
            &str,
        >("googleIdToken", []))
        .security(utoipa::openapi::security::SecurityRequirement::new::<
            _,
            _,
            &str,
        >("apiKey", []));

    let mut paths = PathsBuilder::new().path("/data", PathItem::new(HttpMethod::Get, op.build()));
    for (path, item) in doc::operational_paths() {
        paths = paths.path(path, item);
    }

    // Rows: one property per column. Values follow docs/api.md's wire encoding
    // (INT64 and NUMERIC as strings, and so on); the types are described, not enforced
    // here, so a type's encoding is stated in one place.
    let mut row = ObjectBuilder::new().schema_type(Type::Object);
    for field in &schema.columns {
        let description = format!("{} {:?} column.", field.ty.as_str(), field.mode);
        row = row.property(
            field.name.clone(),
            ObjectBuilder::new().description(Some(description)),
        );
    }
    let page = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property(
            "rows",
            ArrayBuilder::new().items(Ref::from_schema_name("Row")),
        )
        .property(
            "next_page_token",
            ObjectBuilder::new().schema_type(utoipa::openapi::schema::SchemaType::from_iter([
                Type::String,
                Type::Null,
            ])),
        )
        .required("rows")
        .required("next_page_token");
    let components = doc::components()
        .schema("Row", row)
        .schema("Page", page)
        .security_scheme(
            "googleIdToken",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        )
        .security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::new("X-API-Key"))),
        )
        .build();

    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(format!("data-api ({})", schema.name))
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some(
                    "Reads the table. Which security scheme applies is configuration \
                     (PIPELINE_DATA_AUTH); see docs/security.md.",
                ))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}
