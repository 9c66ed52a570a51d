//! Typed cell values.

use bigdecimal::BigDecimal;
use chrono::{NaiveDate, NaiveDateTime, NaiveTime};

/// One cell. Integers, decimals and timestamps are held exactly; only FLOAT64 is a float.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    String(String),
    Bytes(Vec<u8>),
    Int64(i64),
    Float64(f64),
    /// NUMERIC or BIGNUMERIC (the column type tells which), normalised.
    Decimal(BigDecimal),
    Bool(bool),
    /// Microseconds since the Unix epoch, UTC.
    Timestamp(i64),
    Date(NaiveDate),
    Time(NaiveTime),
    /// A civil (wall-clock) date and time, no zone.
    DateTime(NaiveDateTime),
    /// A JSON column: the JSON text exactly as received, so big numbers inside survive.
    Json(String),
    /// The sub-fields of a RECORD, in schema order.
    Record(Vec<Value>),
    /// A REPEATED column; never contains `Null`.
    Array(Vec<Value>),
}

impl Value {
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}
