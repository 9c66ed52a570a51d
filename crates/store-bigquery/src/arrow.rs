//! Rows to Arrow IPC bytes for the Storage Write API.
//!
//! | BigQuery | Arrow | note |
//! |---|---|---|
//! | STRING, JSON | Utf8 | JSON as its text, exactly as received |
//! | BYTES | Binary | |
//! | INT64 | Int64 | |
//! | FLOAT64 | Float64 | |
//! | BOOL | Boolean | |
//! | NUMERIC | Decimal128(38, 9) | BigQuery's own precision and scale |
//! | BIGNUMERIC | Decimal256(76, 38) | see `docs/bigquery.md`: the emulator keeps only 38 digits |
//! | TIMESTAMP | Timestamp(µs, "UTC") | |
//! | DATETIME | Timestamp(µs, no zone) | a civil time: no zone is what says so |
//! | DATE | Date32 | days since the epoch |
//! | TIME | Time64(µs) | |
//! | RECORD | Struct | |
//! | REPEATED x | List<x> | never null: an empty list instead |
//!
//! The request carries IPC *messages* (not the stream or file format): one for the
//! schema, once per writer, and one per record batch.

use std::sync::Arc;

use arrow_array::builder::{
    BinaryBuilder, BooleanBuilder, Date32Builder, Decimal128Builder, Decimal256Builder,
    Float64Builder, Int64Builder, StringBuilder, Time64MicrosecondBuilder,
    TimestampMicrosecondBuilder,
};
use arrow_array::{ArrayRef, ListArray, RecordBatch, StructArray};
use arrow_buffer::{NullBuffer, OffsetBuffer, i256};
use arrow_ipc::writer::{DictionaryTracker, IpcDataGenerator, IpcWriteOptions, write_message};
use arrow_schema::{ArrowError, DataType, Field as ArrowField, Fields, Schema, TimeUnit};
use chrono::{NaiveDate, NaiveTime, Timelike};
use pipeline_core::schema::{Field, FieldType, Mode};
use pipeline_core::value::Value;

const NUMERIC_SCALE: i8 = 9;
const BIGNUMERIC_SCALE: i8 = 38;

/// The Arrow type of one value of `field` (for REPEATED fields: of one element).
fn element_type(field: &Field) -> DataType {
    match field.ty {
        FieldType::String | FieldType::Json => DataType::Utf8,
        FieldType::Bytes => DataType::Binary,
        FieldType::Int64 => DataType::Int64,
        FieldType::Float64 => DataType::Float64,
        FieldType::Bool => DataType::Boolean,
        FieldType::Numeric => DataType::Decimal128(38, NUMERIC_SCALE),
        FieldType::BigNumeric => DataType::Decimal256(76, BIGNUMERIC_SCALE),
        FieldType::Timestamp => DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into())),
        FieldType::DateTime => DataType::Timestamp(TimeUnit::Microsecond, None),
        FieldType::Date => DataType::Date32,
        FieldType::Time => DataType::Time64(TimeUnit::Microsecond),
        FieldType::Record => DataType::Struct(struct_fields(&field.fields)),
    }
}

fn struct_fields(fields: &[Field]) -> Fields {
    fields.iter().map(arrow_field).collect()
}

/// The Arrow field for a BigQuery column: nullable unless REQUIRED; REPEATED is a list.
pub fn arrow_field(field: &Field) -> ArrowField {
    match field.mode {
        Mode::Repeated => {
            let item = ArrowField::new("item", element_type(field), false);
            ArrowField::new(&field.name, DataType::List(Arc::new(item)), false)
        }
        Mode::Required => ArrowField::new(&field.name, element_type(field), false),
        Mode::Nullable => ArrowField::new(&field.name, element_type(field), true),
    }
}

pub fn arrow_schema(columns: &[Field]) -> Schema {
    Schema::new(columns.iter().map(arrow_field).collect::<Vec<_>>())
}

/// The schema as one IPC message.
pub fn schema_bytes(schema: &Schema) -> Vec<u8> {
    let options = IpcWriteOptions::default();
    let mut tracker = DictionaryTracker::new(false);
    let encoded = IpcDataGenerator::default().schema_to_bytes_with_dictionary_tracker(
        schema,
        &mut tracker,
        &options,
    );
    let mut out = Vec::new();
    // Writing into a Vec cannot fail.
    let _ = write_message(&mut out, encoded, &options);
    out
}

/// Rows (one `Vec<Value>` per row, in `columns` order) as one IPC record batch message.
pub fn batch_bytes(
    schema: &Arc<Schema>,
    columns: &[Field],
    rows: &[Vec<Value>],
) -> Result<Vec<u8>, ArrowError> {
    let arrays = columns
        .iter()
        .enumerate()
        .map(|(i, field)| {
            let cells: Vec<&Value> = rows.iter().map(|row| &row[i]).collect();
            column_array(field, &cells)
        })
        .collect::<Result<Vec<_>, _>>()?;
    let batch = RecordBatch::try_new(Arc::clone(schema), arrays)?;

    let options = IpcWriteOptions::default();
    let mut tracker = DictionaryTracker::new(false);
    // `encoded_batch` is deprecated for `encode`, whose context type the crate does not
    // export in 60.x; the two produce the same bytes for a batch without dictionaries.
    #[allow(deprecated)]
    let (_dictionaries, encoded) =
        IpcDataGenerator::default().encoded_batch(&batch, &mut tracker, &options)?;
    let mut out = Vec::new();
    write_message(&mut out, encoded, &options)?;
    Ok(out)
}

/// One column of a batch (a whole REPEATED value per cell).
fn column_array(field: &Field, cells: &[&Value]) -> Result<ArrayRef, ArrowError> {
    if field.mode != Mode::Repeated {
        return scalar_array(field, cells);
    }
    let mut lengths = Vec::with_capacity(cells.len());
    let mut items: Vec<&Value> = Vec::new();
    for cell in cells {
        match cell {
            Value::Array(values) => {
                lengths.push(values.len());
                items.extend(values.iter());
            }
            // A REPEATED column is never NULL in BigQuery: an absent array is empty.
            _ => lengths.push(0),
        }
    }
    let child = scalar_array(field, &items)?;
    let item = Arc::new(ArrowField::new("item", element_type(field), false));
    let list = ListArray::try_new(item, OffsetBuffer::from_lengths(lengths), child, None)?;
    Ok(Arc::new(list))
}

fn mismatch(field: &Field, value: &Value) -> ArrowError {
    ArrowError::InvalidArgumentError(format!(
        "column `{}` ({}) cannot hold {value:?}",
        field.name,
        field.ty.as_str()
    ))
}

/// Single values of `field` (not lists), nulls where the value is `Null`.
fn scalar_array(field: &Field, cells: &[&Value]) -> Result<ArrayRef, ArrowError> {
    macro_rules! build {
        ($builder:expr, $pattern:pat => $value:expr) => {{
            let mut b = $builder;
            for cell in cells {
                match cell {
                    Value::Null => b.append_null(),
                    $pattern => b.append_value($value),
                    other => return Err(mismatch(field, other)),
                }
            }
            Arc::new(b.finish()) as ArrayRef
        }};
    }

    let array = match field.ty {
        FieldType::String => build!(StringBuilder::new(), Value::String(s) => s),
        FieldType::Json => build!(StringBuilder::new(), Value::Json(s) => s),
        FieldType::Bytes => build!(BinaryBuilder::new(), Value::Bytes(b) => b),
        FieldType::Int64 => build!(Int64Builder::new(), Value::Int64(i) => *i),
        FieldType::Float64 => build!(Float64Builder::new(), Value::Float64(f) => *f),
        FieldType::Bool => build!(BooleanBuilder::new(), Value::Bool(b) => *b),
        FieldType::Numeric => {
            let mut b = Decimal128Builder::new();
            for cell in cells {
                match cell {
                    Value::Null => b.append_null(),
                    Value::Decimal(d) => b.append_value(scaled(d, NUMERIC_SCALE, field)?),
                    other => return Err(mismatch(field, other)),
                }
            }
            Arc::new(b.finish().with_precision_and_scale(38, NUMERIC_SCALE)?)
        }
        FieldType::BigNumeric => {
            let mut b = Decimal256Builder::new();
            for cell in cells {
                match cell {
                    Value::Null => b.append_null(),
                    Value::Decimal(d) => b.append_value(scaled256(d, field)?),
                    other => return Err(mismatch(field, other)),
                }
            }
            Arc::new(b.finish().with_precision_and_scale(76, BIGNUMERIC_SCALE)?)
        }
        FieldType::Timestamp => build!(
            TimestampMicrosecondBuilder::new().with_timezone("UTC"),
            Value::Timestamp(us) => *us
        ),
        FieldType::DateTime => build!(
            TimestampMicrosecondBuilder::new(),
            Value::DateTime(dt) => dt.and_utc().timestamp_micros()
        ),
        FieldType::Date => build!(Date32Builder::new(), Value::Date(d) => days(d)),
        FieldType::Time => build!(Time64MicrosecondBuilder::new(), Value::Time(t) => micros(t)),
        FieldType::Record => return struct_array(field, cells),
    };
    Ok(array)
}

fn struct_array(field: &Field, cells: &[&Value]) -> Result<ArrayRef, ArrowError> {
    static NULL: Value = Value::Null;
    let valid: Vec<bool> = cells.iter().map(|c| !c.is_null()).collect();
    let mut children = Vec::with_capacity(field.fields.len());
    for (i, sub) in field.fields.iter().enumerate() {
        let values: Vec<&Value> = cells
            .iter()
            .map(|cell| match cell {
                Value::Record(values) => values.get(i).unwrap_or(&NULL),
                _ => &NULL,
            })
            .collect();
        children.push(column_array(sub, &values)?);
    }
    let nulls = valid.contains(&false).then(|| NullBuffer::from(valid));
    let array = StructArray::try_new(struct_fields(&field.fields), children, nulls)?;
    Ok(Arc::new(array))
}

fn days(date: &NaiveDate) -> i32 {
    let epoch = NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default();
    (*date - epoch).num_days() as i32
}

fn micros(time: &NaiveTime) -> i64 {
    i64::from(time.num_seconds_from_midnight()) * 1_000_000 + i64::from(time.nanosecond() / 1_000)
}

/// The unscaled integer of `d` at `scale` digits. The validator already refused values
/// with more fraction digits than the type keeps, so nothing is rounded here.
fn unscaled(d: &bigdecimal::BigDecimal, scale: i8) -> String {
    let (digits, _) = d.with_scale(i64::from(scale)).into_bigint_and_exponent();
    digits.to_string()
}

fn scaled(d: &bigdecimal::BigDecimal, scale: i8, field: &Field) -> Result<i128, ArrowError> {
    unscaled(d, scale)
        .parse()
        .map_err(|_| ArrowError::InvalidArgumentError(format!("`{}`: {d} overflows", field.name)))
}

fn scaled256(d: &bigdecimal::BigDecimal, field: &Field) -> Result<i256, ArrowError> {
    i256::from_string(&unscaled(d, BIGNUMERIC_SCALE))
        .ok_or_else(|| ArrowError::InvalidArgumentError(format!("`{}`: {d} overflows", field.name)))
}
