//! The JSON wire encoding of rows, used by `/data` and by the stores that keep nested
//! values as JSON text.
//!
//! Choices, for clients in any language (JavaScript included):
//! - INT64, NUMERIC and BIGNUMERIC are JSON **strings** (`"9223372036854775807"`), as in
//!   BigQuery's own REST API, so no client rounds them through a double.
//! - FLOAT64 is a JSON number; NaN and the infinities are the strings `"NaN"`,
//!   `"Infinity"` and `"-Infinity"`.
//! - TIMESTAMP is RFC 3339 in UTC with six fractional digits; DATETIME, DATE and TIME
//!   are ISO 8601 without a zone; BYTES is standard base64.
//! - JSON columns are embedded as JSON (an object stays an object).
//!
//! The encoding is accepted back by [`crate::validate`], so it round-trips.

use base64::Engine;
use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::value::RawValue;

use crate::schema::{Field, FieldType, Mode};
use crate::temporal::{format_datetime, format_decimal, format_time, format_timestamp};
use crate::value::Value;

/// A value with the field that types it, serialised in the wire encoding.
pub struct WireValue<'a> {
    pub value: &'a Value,
    pub field: &'a Field,
    /// Set for the elements of a REPEATED field, which are single values.
    pub element: bool,
}

impl<'a> WireValue<'a> {
    pub fn new(value: &'a Value, field: &'a Field) -> Self {
        WireValue {
            value,
            field,
            element: false,
        }
    }
}

impl Serialize for WireValue<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if self.field.mode == Mode::Repeated && !self.element {
            return match self.value {
                Value::Array(items) => {
                    let mut seq = s.serialize_seq(Some(items.len()))?;
                    for item in items {
                        seq.serialize_element(&WireValue {
                            value: item,
                            field: self.field,
                            element: true,
                        })?;
                    }
                    seq.end()
                }
                _ => s.serialize_seq(Some(0))?.end(),
            };
        }

        match self.value {
            Value::Null => s.serialize_none(),
            Value::String(v) => s.serialize_str(v),
            Value::Bytes(v) => {
                s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
            }
            Value::Int64(v) => s.collect_str(v),
            Value::Float64(v) if v.is_nan() => s.serialize_str("NaN"),
            Value::Float64(v) if v.is_infinite() => {
                s.serialize_str(if *v > 0.0 { "Infinity" } else { "-Infinity" })
            }
            Value::Float64(v) => s.serialize_f64(*v),
            Value::Decimal(v) => s.serialize_str(&format_decimal(v)),
            Value::Bool(v) => s.serialize_bool(*v),
            Value::Timestamp(v) => s.serialize_str(&format_timestamp(*v)),
            Value::Date(v) => s.collect_str(&v.format("%Y-%m-%d")),
            Value::Time(v) => s.serialize_str(&format_time(v)),
            Value::DateTime(v) => s.serialize_str(&format_datetime(v)),
            Value::Json(text) => match RawValue::from_string(text.clone()) {
                Ok(raw) => raw.serialize(s),
                // Only reachable if a store hands back text that is not JSON; say so
                // rather than emit a broken document.
                Err(_) => s.serialize_str(text),
            },
            Value::Record(values) => {
                let mut map = s.serialize_map(Some(values.len()))?;
                for (field, value) in self.field.fields.iter().zip(values) {
                    map.serialize_entry(&field.name, &WireValue::new(value, field))?;
                }
                map.end()
            }
            Value::Array(_) => Err(serde::ser::Error::custom(format!(
                "array value in non-repeated column `{}`",
                self.field.name
            ))),
        }
    }
}

/// A row as a JSON object of the given columns.
pub struct WireRow<'a> {
    pub fields: &'a [&'a Field],
    pub values: &'a [Value],
}

impl Serialize for WireRow<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut map = s.serialize_map(Some(self.fields.len()))?;
        for (field, value) in self.fields.iter().zip(self.values) {
            map.serialize_entry(&field.name, &WireValue::new(value, field))?;
        }
        map.end()
    }
}

/// Encodes one value as wire JSON text (for stores that keep nested values as text).
pub fn to_wire_json(value: &Value, field: &Field) -> String {
    serde_json::to_string(&WireValue::new(value, field))
        .unwrap_or_else(|e| unreachable!("wire encoding is infallible for typed values: {e}"))
}

/// Whether a column of this field is kept as wire JSON text by text-based stores.
pub fn is_nested(field: &Field) -> bool {
    field.mode == Mode::Repeated || field.ty == FieldType::Record
}
