//! Message data to a typed row, or a [`Rejection`] naming the field and the reason.
//!
//! Pure: no I/O and no clock, so it can be unit-tested and fuzzed on its own.
//!
//! Numbers are read from their JSON text, never through `f64` (except FLOAT64 columns):
//! the object is split into raw values first, and each value is parsed by its column's
//! type. JSON columns keep their text as received.

use std::collections::HashSet;
use std::fmt;

use base64::Engine;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;

use crate::reason::{ReasonCode, Rejection};
use crate::schema::{Field, FieldType, Mode, TableSchema};
use crate::temporal::{self, BIGNUMERIC, NUMERIC};
use crate::value::Value;

/// What to do with keys the schema does not define.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum UnknownFields {
    /// Dead-letter the message, naming the field (the default: no silent data loss).
    #[default]
    Reject,
    /// Drop the key, store the rest, and count the drop.
    Drop,
}

#[derive(Debug, Clone)]
pub struct ValidateOptions {
    pub unknown_fields: UnknownFields,
    /// Deepest nesting of arrays and objects accepted in message data.
    pub max_depth: usize,
}

impl Default for ValidateOptions {
    fn default() -> Self {
        ValidateOptions {
            unknown_fields: UnknownFields::Reject,
            max_depth: 64,
        }
    }
}

/// A valid row: one value per payload column, in schema order.
#[derive(Debug, Clone, PartialEq)]
pub struct ValidRow {
    pub values: Vec<Value>,
    /// Keys dropped under [`UnknownFields::Drop`].
    pub dropped_fields: usize,
}

/// Validates message data against the table's payload columns.
pub fn validate(
    schema: &TableSchema,
    data: &[u8],
    opts: &ValidateOptions,
) -> Result<ValidRow, Rejection> {
    if data.is_empty() {
        return Err(Rejection::new(
            ReasonCode::MissingData,
            "the message has no data",
        ));
    }
    let text = std::str::from_utf8(data).map_err(|e| {
        Rejection::new(
            ReasonCode::InvalidJson,
            format!("the data is not UTF-8: {e}"),
        )
    })?;
    check_depth(text, opts.max_depth)?;

    let mut dropped = 0;
    let values = parse_object(schema.payload(), text, "", opts, &mut dropped).map_err(|r| {
        // A top-level parse failure has no field; tell JSON of another kind from non-JSON.
        if r.field.is_none() && r.reason == ReasonCode::InvalidJson {
            match serde_json::from_str::<&RawValue>(text) {
                Ok(_) => Rejection::new(
                    ReasonCode::NotAnObject,
                    "the data is JSON but not an object",
                ),
                Err(_) => r,
            }
        } else {
            r
        }
    })?;
    Ok(ValidRow {
        values,
        dropped_fields: dropped,
    })
}

/// Refuses nesting deeper than `max`, before any recursive parsing runs.
fn check_depth(text: &str, max: usize) -> Result<(), Rejection> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for b in text.bytes() {
        if in_string {
            match b {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                if depth > max {
                    return Err(Rejection::new(
                        ReasonCode::TooDeep,
                        format!("the data nests deeper than {max} levels"),
                    ));
                }
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    Ok(())
}

/// The entries of one JSON object, values left unparsed.
struct Entries<'a>(Vec<(String, &'a RawValue)>);

impl<'de> Deserialize<'de> for Entries<'de> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Entries<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
                let mut entries = Vec::new();
                while let Some(entry) = map.next_entry::<String, &'de RawValue>()? {
                    entries.push(entry);
                }
                Ok(Entries(entries))
            }
        }
        d.deserialize_map(V)
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

fn parse_object(
    fields: &[Field],
    text: &str,
    path: &str,
    opts: &ValidateOptions,
    dropped: &mut usize,
) -> Result<Vec<Value>, Rejection> {
    let entries = serde_json::from_str::<Entries>(text).map_err(|e| {
        let detail = format!("not a JSON object: {e}");
        if path.is_empty() {
            Rejection::new(ReasonCode::InvalidJson, detail)
        } else {
            Rejection::at(ReasonCode::TypeMismatch, path, detail)
        }
    })?;

    let mut found: Vec<Option<&RawValue>> = vec![None; fields.len()];
    let mut seen = HashSet::with_capacity(entries.0.len());
    for (key, raw) in entries.0 {
        if !seen.insert(key.clone()) {
            let field = join(path, &key);
            return Err(Rejection::at(
                ReasonCode::DuplicateField,
                &field,
                "the key appears twice",
            ));
        }
        match fields.iter().position(|f| f.name == key) {
            Some(i) => found[i] = Some(raw),
            None if opts.unknown_fields == UnknownFields::Drop => *dropped += 1,
            None => {
                let field = join(path, &key);
                return Err(Rejection::at(
                    ReasonCode::UnknownField,
                    &field,
                    format!("the schema has no field `{field}`"),
                ));
            }
        }
    }

    fields
        .iter()
        .zip(found)
        .map(|(field, raw)| parse_field(field, raw, &join(path, &field.name), opts, dropped))
        .collect()
}

fn parse_field(
    field: &Field,
    raw: Option<&RawValue>,
    path: &str,
    opts: &ValidateOptions,
    dropped: &mut usize,
) -> Result<Value, Rejection> {
    let raw = raw.filter(|r| r.get() != "null");

    if field.mode == Mode::Repeated {
        let Some(raw) = raw else {
            return Ok(Value::Array(Vec::new()));
        };
        let items: Vec<&RawValue> = serde_json::from_str(raw.get()).map_err(|_| {
            Rejection::at(
                ReasonCode::TypeMismatch,
                path,
                "a REPEATED field needs a JSON array",
            )
        })?;
        return items
            .into_iter()
            .enumerate()
            .map(|(i, item)| {
                let item_path = format!("{path}[{i}]");
                if item.get() == "null" {
                    return Err(Rejection::at(
                        ReasonCode::NullInArray,
                        &item_path,
                        "arrays may not contain null",
                    ));
                }
                parse_single(field, item, &item_path, opts, dropped)
            })
            .collect::<Result<Vec<_>, _>>()
            .map(Value::Array);
    }

    match raw {
        Some(raw) => parse_single(field, raw, path, opts, dropped),
        None if field.mode == Mode::Required => Err(Rejection::at(
            ReasonCode::MissingRequiredField,
            path,
            "the field is REQUIRED",
        )),
        None => Ok(Value::Null),
    }
}

/// A raw JSON value, classified by its first character.
enum Json<'a> {
    String(&'a str),
    Number(&'a str),
    Bool(bool),
    Object(&'a str),
    Array,
}

fn classify(raw: &RawValue) -> Json<'_> {
    let text = raw.get();
    match text.as_bytes().first() {
        Some(b'"') => Json::String(text),
        Some(b'{') => Json::Object(text),
        Some(b'[') => Json::Array,
        Some(b't') => Json::Bool(true),
        Some(b'f') => Json::Bool(false),
        _ => Json::Number(text),
    }
}

fn decode_string(literal: &str, path: &str) -> Result<String, Rejection> {
    serde_json::from_str::<String>(literal).map_err(|e| {
        Rejection::at(
            ReasonCode::InvalidValue,
            path,
            format!("the string does not decode: {e}"),
        )
    })
}

fn parse_single(
    field: &Field,
    raw: &RawValue,
    path: &str,
    opts: &ValidateOptions,
    dropped: &mut usize,
) -> Result<Value, Rejection> {
    let json = classify(raw);
    let mismatch = |what: &str| {
        Rejection::at(
            ReasonCode::TypeMismatch,
            path,
            format!("{} needs {what}; got {}", field.ty.as_str(), describe(raw)),
        )
    };
    let at = |(reason, detail): temporal::ParseError| Rejection::at(reason, path, detail);

    match (field.ty, json) {
        (FieldType::Json, _) => Ok(Value::Json(raw.get().to_owned())),
        (FieldType::Record, Json::Object(text)) => {
            parse_object(&field.fields, text, path, opts, dropped).map(Value::Record)
        }
        (FieldType::Record, _) => Err(mismatch("a JSON object")),
        (FieldType::Bool, Json::Bool(b)) => Ok(Value::Bool(b)),
        (
            FieldType::Int64 | FieldType::Float64 | FieldType::Numeric | FieldType::BigNumeric,
            Json::Number(text),
        ) => parse_scalar_text(field.ty, text).map_err(at),
        (_, Json::String(literal)) => {
            let s = decode_string(literal, path)?;
            match field.ty {
                FieldType::String => Ok(Value::String(s)),
                FieldType::Bool => match s.as_str() {
                    "true" => Ok(Value::Bool(true)),
                    "false" => Ok(Value::Bool(false)),
                    _ => Err(mismatch("true or false")),
                },
                ty => parse_scalar_text(ty, &s).map_err(at),
            }
        }
        (FieldType::String | FieldType::Bytes, _) => Err(mismatch("a JSON string")),
        (FieldType::Bool, _) => Err(mismatch("true or false")),
        (FieldType::Int64 | FieldType::Numeric | FieldType::BigNumeric | FieldType::Float64, _) => {
            Err(mismatch("a number or a string holding one"))
        }
        (_, _) => Err(mismatch("a string")),
    }
}

fn describe(raw: &RawValue) -> String {
    let text = raw.get();
    let kind = match classify(raw) {
        Json::String(_) => "a string",
        Json::Number(_) => "a number",
        Json::Bool(_) => "a boolean",
        Json::Object(_) => "an object",
        Json::Array => "an array",
    };
    if text.len() <= 40 {
        format!("{kind} `{text}`")
    } else {
        kind.to_owned()
    }
}

/// Parses a scalar of type `ty` from text: a JSON number's literal, a JSON string's
/// content, or a `/data` filter value. Not for RECORD or JSON columns.
pub fn parse_scalar_text(ty: FieldType, s: &str) -> Result<Value, temporal::ParseError> {
    let invalid = |what: &str| {
        (
            ReasonCode::InvalidValue,
            format!("`{}` is not {what}", clip(s)),
        )
    };
    match ty {
        FieldType::String => Ok(Value::String(s.to_owned())),
        FieldType::Int64 => parse_int64(s),
        FieldType::Float64 => parse_float64(s),
        FieldType::Numeric => temporal::parse_decimal(s, NUMERIC).map(Value::Decimal),
        FieldType::BigNumeric => temporal::parse_decimal(s, BIGNUMERIC).map(Value::Decimal),
        FieldType::Bool => match s {
            "true" => Ok(Value::Bool(true)),
            "false" => Ok(Value::Bool(false)),
            _ => Err(invalid("true or false")),
        },
        FieldType::Bytes => decode_base64(s)
            .map(Value::Bytes)
            .ok_or_else(|| invalid("base64")),
        FieldType::Timestamp => temporal::parse_timestamp(s, false).map(Value::Timestamp),
        FieldType::Date => temporal::parse_date(s).map(Value::Date),
        FieldType::Time => temporal::parse_time(s).map(Value::Time),
        FieldType::DateTime => temporal::parse_datetime(s).map(Value::DateTime),
        FieldType::Json | FieldType::Record => Err(invalid("a scalar")),
    }
}

fn clip(s: &str) -> &str {
    match s.char_indices().nth(40) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

fn parse_int64(s: &str) -> Result<Value, temporal::ParseError> {
    let digits = s.strip_prefix('-').unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        let reason = if s
            .bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        {
            ReasonCode::TypeMismatch
        } else {
            ReasonCode::InvalidValue
        };
        return Err((reason, format!("`{}` is not an integer", clip(s))));
    }
    s.parse::<i64>().map(Value::Int64).map_err(|_| {
        (
            ReasonCode::OutOfRange,
            format!("`{}` is outside the INT64 range", clip(s)),
        )
    })
}

fn parse_float64(s: &str) -> Result<Value, temporal::ParseError> {
    match s {
        "NaN" => return Ok(Value::Float64(f64::NAN)),
        "Infinity" => return Ok(Value::Float64(f64::INFINITY)),
        "-Infinity" => return Ok(Value::Float64(f64::NEG_INFINITY)),
        _ => {}
    }
    // Rust also reads `inf` and `nan`; only the JSON-number grammar is accepted here.
    let number_like = !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_digit() || b"+-.eE".contains(&b))
        && s.bytes().any(|b| b.is_ascii_digit());
    let value: f64 = number_like
        .then(|| s.parse().ok())
        .flatten()
        .ok_or_else(|| {
            (
                ReasonCode::InvalidValue,
                format!("`{}` is not a number", clip(s)),
            )
        })?;
    if value.is_infinite() {
        return Err((
            ReasonCode::OutOfRange,
            format!("`{}` overflows FLOAT64", clip(s)),
        ));
    }
    Ok(Value::Float64(value))
}

/// Standard or URL-safe base64, padded or not.
pub fn decode_base64(s: &str) -> Option<Vec<u8>> {
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const CONFIG: GeneralPurposeConfig =
        GeneralPurposeConfig::new().with_decode_padding_mode(DecodePaddingMode::Indifferent);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&base64::alphabet::URL_SAFE, CONFIG);
    STANDARD.decode(s).or_else(|_| URL_SAFE.decode(s)).ok()
}

/// Parses one stored value back from its wire JSON (the stores that keep nested values
/// as text use this, so reading goes through the same rules as writing).
pub fn parse_wire(field: &Field, text: &str) -> Result<Value, Rejection> {
    let raw: &RawValue = serde_json::from_str(text).map_err(|e| {
        Rejection::at(
            ReasonCode::InvalidJson,
            &field.name,
            format!("stored value is not JSON: {e}"),
        )
    })?;
    let opts = ValidateOptions {
        max_depth: usize::MAX,
        ..ValidateOptions::default()
    };
    parse_field(field, Some(raw), &field.name, &opts, &mut 0)
}
