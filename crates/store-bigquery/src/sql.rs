//! Page queries: GoogleSQL with named parameters, built from the schema and a
//! `PageQuery`.
//!
//! The default write stream is at-least-once, so the table may hold a message twice.
//! The inner query keeps the first copy of each `message_id`; filters, the keyset
//! cursor and the limit apply to that de-duplicated set, so a page never shows a
//! message twice and the keyset positions stay stable. Column names come only from the
//! schema file (checked by `valid_column_name`); values only ever travel as parameters.

use base64::Engine;
use google_cloud_bigquery_v2::model::{QueryParameter, QueryParameterType, QueryParameterValue};
use pipeline_core::query::{Order, PageQuery};
use pipeline_core::schema::{FieldType, TableSchema};
use pipeline_core::temporal::{format_datetime, format_decimal, format_time, format_timestamp};
use pipeline_core::value::Value;

/// SQL text and its named parameters.
pub struct Plan {
    pub sql: String,
    pub params: Vec<QueryParameter>,
}

/// `project.dataset.table` as a quoted identifier.
pub fn table_ref(project: &str, dataset: &str, table: &str) -> String {
    format!("`{project}.{dataset}.{table}`")
}

/// The de-duplicated rows of a table: the earliest copy of each message id. Real
/// BigQuery may require a WHERE next to QUALIFY, so one is always written.
pub fn deduplicated(table: &str) -> String {
    format!(
        "SELECT * FROM {table} WHERE TRUE \
         QUALIFY ROW_NUMBER() OVER (PARTITION BY message_id ORDER BY ingested_at) = 1"
    )
}

impl Plan {
    pub fn new(schema: &TableSchema, table: &str, query: &PageQuery) -> Plan {
        let mut conditions = Vec::new();
        let mut params = Vec::new();

        for (n, filter) in query.filters.iter().enumerate() {
            let field = &schema.columns[filter.column];
            let name = format!("f{n}");
            conditions.push(format!("`{}` {} @{name}", field.name, filter.op.sql()));
            params.push(parameter(&name, field.ty, &filter.value));
        }

        let (cmp, dir) = match query.order {
            Order::Desc => ("<", "DESC"),
            Order::Asc => (">", "ASC"),
        };
        if let Some(after) = &query.after {
            conditions.push(format!(
                "(ingested_at {cmp} @after_t \
                 OR (ingested_at = @after_t AND message_id {cmp} @after_id))"
            ));
            params.push(parameter(
                "after_t",
                FieldType::Timestamp,
                &Value::Timestamp(after.ingested_at),
            ));
            params.push(parameter(
                "after_id",
                FieldType::String,
                &Value::String(after.message_id.clone()),
            ));
        }

        // One row more than asked tells whether another page follows.
        params.push(parameter(
            "page_limit",
            FieldType::Int64,
            &Value::Int64(query.limit as i64 + 1),
        ));

        let columns: String = query
            .columns
            .iter()
            .map(|&i| format!(", `{}`", schema.columns[i].name))
            .collect();
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        let sql = format!(
            "SELECT ingested_at AS _cursor_t, message_id AS _cursor_id{columns} \
             FROM ({}){where_clause} \
             ORDER BY ingested_at {dir}, message_id {dir} LIMIT @page_limit",
            deduplicated(table),
        );
        Plan { sql, params }
    }
}

/// A named scalar parameter. Values are sent as BigQuery's canonical text for the type,
/// so nothing passes through a float unless the column is FLOAT64.
pub fn parameter(name: &str, ty: FieldType, value: &Value) -> QueryParameter {
    let text = match value {
        Value::Null => None,
        Value::String(s) | Value::Json(s) => Some(s.clone()),
        Value::Int64(i) => Some(i.to_string()),
        Value::Float64(f) if f.is_nan() => Some("NaN".to_owned()),
        Value::Float64(f) if f.is_infinite() => {
            Some(if *f > 0.0 { "Infinity" } else { "-Infinity" }.to_owned())
        }
        Value::Float64(f) => Some(f.to_string()),
        Value::Decimal(d) => Some(format_decimal(d)),
        Value::Bool(b) => Some(b.to_string()),
        Value::Timestamp(us) => Some(format_timestamp(*us)),
        Value::Date(d) => Some(d.format("%Y-%m-%d").to_string()),
        Value::Time(t) => Some(format_time(t)),
        Value::DateTime(dt) => Some(format_datetime(dt)),
        Value::Bytes(b) => Some(base64::engine::general_purpose::STANDARD.encode(b)),
        // Filters are on scalar columns only (`Field::is_filterable`).
        Value::Record(_) | Value::Array(_) => None,
    };
    let mut param_value = QueryParameterValue::new();
    param_value.value = text;
    let mut param_type = QueryParameterType::new();
    param_type.r#type = ty.as_str().to_owned();
    let mut param = QueryParameter::new().set_name(name);
    param.parameter_type = Some(param_type);
    param.parameter_value = Some(param_value);
    param
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_core::query::{Cursor, Filter, Op};
    use std::path::Path;

    fn schema() -> TableSchema {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        TableSchema::load(&root.join("example_table.json"), None).unwrap()
    }

    #[test]
    fn values_are_parameters_and_the_cursor_follows_the_order() {
        let schema = schema();
        let column = schema.column_index("message_id").unwrap();
        let query = PageQuery {
            columns: vec![column],
            filters: vec![Filter {
                column,
                op: Op::Ne,
                value: Value::String("x'; DROP TABLE t; --".into()),
            }],
            order: Order::Asc,
            limit: 10,
            after: Some(Cursor {
                ingested_at: 5,
                message_id: "m".into(),
            }),
        };
        let plan = Plan::new(&schema, "`p.d.t`", &query);
        assert!(!plan.sql.contains("DROP"), "{}", plan.sql);
        assert!(plan.sql.contains("`message_id` <> @f0"), "{}", plan.sql);
        assert!(plan.sql.contains("message_id > @after_id"), "{}", plan.sql);
        assert!(plan.sql.contains("QUALIFY ROW_NUMBER()"), "{}", plan.sql);
        let limit = plan.params.last().unwrap();
        assert_eq!(
            limit.parameter_value.as_ref().unwrap().value.as_deref(),
            Some("11")
        );
    }
}
