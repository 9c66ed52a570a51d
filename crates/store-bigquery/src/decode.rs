//! Query result cells back to typed values.
//!
//! The official crate hands each cell over as JSON after its own first pass: INT64 and
//! FLOAT64 become JSON numbers (an INT64 as an exact i64), BOOL a JSON boolean, RECORD an
//! object keyed by field name, REPEATED an array, and every other type the string
//! BigQuery sent. TIMESTAMP is that string in microseconds, because the crate asks for
//! `useInt64Timestamp`. The strings go through the validator's own scalar parser, so
//! reading applies the same rules as writing.

use pipeline_core::schema::{Field, FieldType, Mode};
use pipeline_core::temporal::parse_timestamp;
use pipeline_core::validate::parse_scalar_text;
use pipeline_core::value::Value;
use serde_json::Value as Json;

/// One column's cell.
pub fn decode(field: &Field, cell: Json) -> Result<Value, String> {
    if field.mode == Mode::Repeated {
        return match cell {
            Json::Null => Ok(Value::Array(Vec::new())),
            Json::Array(items) => items
                .into_iter()
                .map(|item| decode_single(field, item))
                .collect::<Result<_, _>>()
                .map(Value::Array),
            other => Err(unexpected(field, &other)),
        };
    }
    decode_single(field, cell)
}

fn unexpected(field: &Field, cell: &Json) -> String {
    let mut text = cell.to_string();
    text.truncate(60);
    format!(
        "column `{}` ({}) came back as {text}",
        field.name,
        field.ty.as_str()
    )
}

fn decode_single(field: &Field, cell: Json) -> Result<Value, String> {
    let bad = |detail: String| format!("column `{}`: {detail}", field.name);
    match (field.ty, cell) {
        (_, Json::Null) => Ok(Value::Null),
        (FieldType::Int64, Json::Number(n)) => n
            .as_i64()
            .map(Value::Int64)
            .ok_or_else(|| bad(format!("{n} is not an INT64"))),
        (FieldType::Float64, Json::Number(n)) => n
            .as_f64()
            .map(Value::Float64)
            .ok_or_else(|| bad(format!("{n} is not a FLOAT64"))),
        (FieldType::Bool, Json::Bool(b)) => Ok(Value::Bool(b)),
        (FieldType::Json, Json::String(text)) => Ok(Value::Json(text)),
        (FieldType::Timestamp, Json::String(text)) => timestamp(&text).map_err(bad),
        (FieldType::Record, Json::Object(mut map)) => field
            .fields
            .iter()
            .map(|sub| decode(sub, map.remove(&sub.name).unwrap_or(Json::Null)))
            .collect::<Result<_, _>>()
            .map(Value::Record),
        (ty, Json::String(text)) if ty != FieldType::Record => {
            parse_scalar_text(ty, &text).map_err(|(_, detail)| bad(detail))
        }
        (_, other) => Err(unexpected(field, &other)),
    }
}

/// Microseconds as text (what `useInt64Timestamp` gives); RFC 3339 is accepted too, in
/// case a server ignores that option.
fn timestamp(text: &str) -> Result<Value, String> {
    if let Ok(us) = text.parse::<i64>() {
        return Ok(Value::Timestamp(us));
    }
    parse_timestamp(text, false)
        .map(Value::Timestamp)
        .map_err(|(_, detail)| detail)
}

#[cfg(test)]
mod tests {
    use super::*;
    use pipeline_core::schema::parse_fields;
    use serde_json::json;

    fn field(json: &str) -> Field {
        parse_fields(json, "t").unwrap().remove(0)
    }

    #[test]
    fn int64_beyond_f64_precision_stays_exact() {
        let f = field(r#"[{"name":"n","type":"INT64"}]"#);
        let v = decode(&f, json!(9_007_199_254_740_993_i64)).unwrap();
        assert_eq!(v, Value::Int64(9_007_199_254_740_993));
    }

    #[test]
    fn timestamps_come_back_as_microseconds() {
        let f = field(r#"[{"name":"t","type":"TIMESTAMP"}]"#);
        let v = decode(&f, json!("1796378400123456")).unwrap();
        assert_eq!(v, Value::Timestamp(1_796_378_400_123_456));
    }

    #[test]
    fn records_and_repeated_values_nest() {
        let f = field(
            r#"[{"name":"r","type":"RECORD","mode":"REPEATED",
                 "fields":[{"name":"a","type":"INT64"},{"name":"b","type":"STRING"}]}]"#,
        );
        let v = decode(&f, json!([{"a": 1, "b": "x"}, {"a": null, "b": "y"}])).unwrap();
        assert_eq!(
            v,
            Value::Array(vec![
                Value::Record(vec![Value::Int64(1), Value::String("x".into())]),
                Value::Record(vec![Value::Null, Value::String("y".into())]),
            ])
        );
        assert_eq!(decode(&f, Json::Null).unwrap(), Value::Array(vec![]));
    }

    #[test]
    fn a_wrong_shape_is_an_error_not_a_guess() {
        let f = field(r#"[{"name":"n","type":"INT64"}]"#);
        assert!(decode(&f, json!(true)).is_err());
    }
}
