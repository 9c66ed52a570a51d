//! The ingest service's OpenAPI 3.1 document, built from its routes.

use pipeline_core::schema::TableSchema;
use pipeline_service::openapi::{self as doc, problem};
use utoipa::openapi::content::ContentBuilder;
use utoipa::openapi::header::HeaderBuilder;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, PathItem};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::response::ResponseBuilder;
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{InfoBuilder, OpenApi, OpenApiBuilder, PathsBuilder, Ref, Required};

/// The document for an ingest writing to `schema`'s table.
pub fn document(schema: &TableSchema) -> OpenApi {
    let string = || ObjectBuilder::new().schema_type(Type::String);
    let message = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("messageId", string())
        .property("publishTime", string().description(Some("RFC 3339.")))
        .property(
            "data",
            string().description(Some("Base64 of a JSON object: one row of the table.")),
        )
        .property(
            "attributes",
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .additional_properties(Some(string())),
        )
        .property("orderingKey", string())
        .required("messageId")
        .required("publishTime");
    let envelope = ObjectBuilder::new()
        .schema_type(Type::Object)
        .property("message", Ref::from_schema_name("PubsubMessage"))
        .property("subscription", string())
        .property(
            "deliveryAttempt",
            ObjectBuilder::new().schema_type(Type::Integer),
        )
        .required("message");

    let handled = ResponseBuilder::new()
        .description("Acknowledged: stored, duplicate or dead-lettered.")
        .header(
            "X-Pipeline-Outcome",
            HeaderBuilder::new()
                .schema(string().enum_values(Some(["stored", "duplicate", "dead_lettered"])))
                .build(),
        )
        .build();
    let push = OperationBuilder::new()
        .operation_id(Some("push"))
        .summary(Some(
            "A Pub/Sub push delivery (wrapped, or unwrapped with headers).",
        ))
        .tag("ingest")
        .request_body(Some(
            RequestBodyBuilder::new()
                .required(Some(Required::True))
                .content(
                    "application/json",
                    ContentBuilder::new()
                        .schema(Some(Ref::from_schema_name("PushEnvelope")))
                        .build(),
                )
                .build(),
        ))
        .response("204", handled)
        .response("400", problem("Not a push request.", false))
        .response("401", problem("No valid OIDC token.", false))
        .response("403", problem("The token's account may not push.", false))
        .response(
            "413",
            ResponseBuilder::new()
                .description("Body over 14 MiB.")
                .build(),
        )
        .response(
            "503",
            problem("Not acknowledged; Pub/Sub delivers again.", true),
        )
        .security(SecurityRequirement::new::<_, _, &str>("pubsubOidc", []))
        .build();

    let push = PathItem::new(HttpMethod::Post, push);
    let mut paths = PathsBuilder::new().path("/pubsub/push", push);
    for (path, item) in doc::operational_paths() {
        paths = paths.path(path, item);
    }
    let components = doc::components()
        .schema("PushEnvelope", envelope)
        .schema("PubsubMessage", message)
        .security_scheme(
            "pubsubOidc",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .description(Some("Google OIDC token of the push service account."))
                    .build(),
            ),
        )
        .build();
    OpenApiBuilder::new()
        .info(
            InfoBuilder::new()
                .title(format!("ingest ({})", schema.name))
                .version(env!("CARGO_PKG_VERSION"))
                .description(Some("The Pub/Sub push endpoint; see docs/security.md."))
                .build(),
        )
        .paths(paths.build())
        .components(Some(components))
        .build()
}
