//! Values to SQLite and back.
//!
//! | type | SQLite | why |
//! |---|---|---|
//! | INT64, BOOL | INTEGER | exact |
//! | TIMESTAMP | INTEGER, microseconds since the epoch | exact and ordered |
//! | FLOAT64 | REAL (NaN as the text `NaN`: SQLite turns a NaN REAL into NULL) | |
//! | NUMERIC, BIGNUMERIC | TEXT, canonical decimal | exact; compared with `dec_cmp` |
//! | DATE, TIME, DATETIME | TEXT, fixed width, six fractional digits | text order is time order |
//! | STRING, JSON | TEXT | JSON kept as received |
//! | BYTES | BLOB | |
//! | RECORD, REPEATED | TEXT, the wire JSON | read back through the validator |

use std::cmp::Ordering;
use std::str::FromStr;

use bigdecimal::BigDecimal;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};
use pipeline_core::schema::{Field, FieldType, TableSchema};
use pipeline_core::store::WriteItem;
use pipeline_core::temporal::format_decimal;
use pipeline_core::validate::parse_wire;
use pipeline_core::value::Value;
use pipeline_core::wire::{is_nested, to_wire_json};
use rusqlite::Connection;
use rusqlite::functions::FunctionFlags;
use rusqlite::types::{Value as Sql, ValueRef};

const TIME_FORMAT: &str = "%H:%M:%S%.6f";
const DATETIME_FORMAT: &str = "%Y-%m-%dT%H:%M:%S%.6f";

/// One item, encoded in its insert statement's parameter order.
pub enum SqlRow {
    /// message_id, publish_time, attributes, payload columns; `ingested_at` is appended
    /// by the writer at commit.
    Row(Vec<Sql>),
    /// The dead-letter columns; the first (`dead_lettered_at`) is set at commit.
    DeadLetter(Vec<Sql>),
}

pub fn encode_item(schema: &TableSchema, item: &WriteItem) -> SqlRow {
    match item {
        WriteItem::Row(row) => {
            let mut values = Vec::with_capacity(schema.columns.len());
            values.push(Sql::Text(row.message_id.clone()));
            values.push(Sql::Integer(row.publish_time));
            values.push(Sql::Text(
                serde_json::to_string(&row.attributes).unwrap_or_default(),
            ));
            for (field, value) in schema.payload().iter().zip(&row.values) {
                values.push(encode(field, value));
            }
            SqlRow::Row(values)
        }
        WriteItem::DeadLetter(dl) => {
            let values = dl.values(0, &schema.name);
            let encoded = schema
                .dead_letter
                .iter()
                .zip(&values)
                .map(|(f, v)| encode(f, v))
                .collect();
            SqlRow::DeadLetter(encoded)
        }
    }
}

pub fn encode(field: &Field, value: &Value) -> Sql {
    if is_nested(field) {
        return Sql::Text(to_wire_json(value, field));
    }
    match value {
        Value::Null => Sql::Null,
        Value::String(s) | Value::Json(s) => Sql::Text(s.clone()),
        Value::Bytes(b) => Sql::Blob(b.clone()),
        Value::Int64(i) | Value::Timestamp(i) => Sql::Integer(*i),
        Value::Float64(f) if f.is_nan() => Sql::Text("NaN".into()),
        Value::Float64(f) => Sql::Real(*f),
        Value::Decimal(d) => Sql::Text(format_decimal(d)),
        Value::Bool(b) => Sql::Integer(i64::from(*b)),
        Value::Date(d) => Sql::Text(d.format("%Y-%m-%d").to_string()),
        Value::Time(t) => Sql::Text(t.format(TIME_FORMAT).to_string()),
        Value::DateTime(dt) => Sql::Text(dt.format(DATETIME_FORMAT).to_string()),
        // Only nested fields hold these, and they are handled above.
        Value::Record(_) | Value::Array(_) => Sql::Text(to_wire_json(value, field)),
    }
}

pub fn decode(field: &Field, raw: ValueRef<'_>) -> Result<Value, String> {
    let text = |raw: ValueRef<'_>| -> Result<String, String> {
        raw.as_str()
            .map(str::to_owned)
            .map_err(|e| format!("column `{}`: {e}", field.name))
    };
    if let ValueRef::Null = raw {
        return Ok(
            if is_nested(field) && field.mode == pipeline_core::schema::Mode::Repeated {
                Value::Array(Vec::new())
            } else {
                Value::Null
            },
        );
    }
    if is_nested(field) {
        return parse_wire(field, &text(raw)?).map_err(|r| r.to_string());
    }
    let bad = |e: &dyn std::fmt::Display| {
        format!("column `{}` holds an unreadable value: {e}", field.name)
    };
    Ok(match field.ty {
        FieldType::String => Value::String(text(raw)?),
        FieldType::Json => Value::Json(text(raw)?),
        FieldType::Bytes => Value::Bytes(raw.as_blob().map_err(|e| bad(&e))?.to_vec()),
        FieldType::Int64 => Value::Int64(raw.as_i64().map_err(|e| bad(&e))?),
        FieldType::Timestamp => Value::Timestamp(raw.as_i64().map_err(|e| bad(&e))?),
        FieldType::Bool => Value::Bool(raw.as_i64().map_err(|e| bad(&e))? != 0),
        FieldType::Float64 => match raw {
            ValueRef::Real(f) => Value::Float64(f),
            ValueRef::Integer(i) => Value::Float64(i as f64),
            _ => Value::Float64(f64::NAN),
        },
        FieldType::Numeric | FieldType::BigNumeric => {
            Value::Decimal(BigDecimal::from_str(&text(raw)?).map_err(|e| bad(&e))?)
        }
        FieldType::Date => {
            Value::Date(NaiveDate::parse_from_str(&text(raw)?, "%Y-%m-%d").map_err(|e| bad(&e))?)
        }
        FieldType::Time => {
            Value::Time(NaiveTime::parse_from_str(&text(raw)?, TIME_FORMAT).map_err(|e| bad(&e))?)
        }
        FieldType::DateTime => Value::DateTime(
            NaiveDateTime::parse_from_str(&text(raw)?, DATETIME_FORMAT).map_err(|e| bad(&e))?,
        ),
        FieldType::Record => unreachable!("RECORD is nested and decoded above"),
    })
}

/// `dec_cmp(a, b)`: -1, 0 or 1 comparing two decimal texts exactly (NULL if either is
/// NULL or unreadable), so NUMERIC range filters never go through floating point.
pub fn register_functions(conn: &Connection) -> rusqlite::Result<()> {
    conn.create_scalar_function(
        "dec_cmp",
        2,
        FunctionFlags::SQLITE_UTF8 | FunctionFlags::SQLITE_DETERMINISTIC,
        |ctx| {
            let parse = |i| -> Option<BigDecimal> {
                ctx.get_raw(i)
                    .as_str()
                    .ok()
                    .and_then(|s| BigDecimal::from_str(s).ok())
            };
            Ok(match (parse(0), parse(1)) {
                (Some(a), Some(b)) => Some(match a.cmp(&b) {
                    Ordering::Less => -1i64,
                    Ordering::Equal => 0,
                    Ordering::Greater => 1,
                }),
                _ => None,
            })
        },
    )
}
