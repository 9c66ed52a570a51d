//! Input files to message data: NDJSON lines as they are, CSV rows through a mapping
//! file that names a column for each header (`schemas/*.csv-mapping.json`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use pipeline_core::schema::{FieldType, TableSchema};
use serde::Deserialize;
use serde_json::{Map, Value as Json};

/// A CSV-header-to-column mapping, kept in the repository beside the schemas.
#[derive(Debug, Deserialize)]
pub struct Mapping {
    /// The table schema file, relative to the mapping file.
    pub schema: PathBuf,
    /// CSV header -> column name.
    pub columns: BTreeMap<String, String>,
    /// Whether an empty CSV value means NULL (otherwise the empty string).
    #[serde(default)]
    pub empty_is_null: bool,
}

impl Mapping {
    pub fn load(path: &Path) -> anyhow::Result<(Mapping, TableSchema)> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read mapping {}", path.display()))?;
        let mapping: Mapping = serde_json::from_str(&text)
            .with_context(|| format!("mapping {} is not valid", path.display()))?;
        let schema_path = path
            .parent()
            .unwrap_or(Path::new("."))
            .join(&mapping.schema);
        let schema = TableSchema::load(&schema_path, None)?;
        for column in mapping.columns.values() {
            if schema.column_index(column).is_none() {
                bail!(
                    "mapping {} names column `{column}`, which {} lacks",
                    path.display(),
                    schema_path.display()
                );
            }
        }
        Ok((mapping, schema))
    }
}

/// One message to publish: its 1-based line or record number and its data.
pub struct Record {
    pub number: usize,
    pub data: Vec<u8>,
}

/// Reads a CSV file into JSON message data, typing values by the schema: integers and
/// floats become JSON numbers (when they parse), booleans become booleans, everything
/// else stays a string for the validator to judge.
pub fn read_csv(
    path: &Path,
    mapping: &Mapping,
    schema: &TableSchema,
) -> anyhow::Result<Vec<Record>> {
    let mut reader = csv::Reader::from_path(path)
        .with_context(|| format!("failed to open {}", path.display()))?;
    let headers = reader
        .headers()
        .context("failed to read the CSV header")?
        .clone();

    let mut plan = Vec::with_capacity(headers.len());
    for header in &headers {
        let column = mapping
            .columns
            .get(header)
            .with_context(|| format!("CSV header `{header}` is not in the mapping"))?;
        let ty = schema.columns[schema.column_index(column).unwrap_or_default()].ty;
        plan.push((column.as_str(), ty));
    }

    let mut records = Vec::new();
    for (i, row) in reader.records().enumerate() {
        let row = row.with_context(|| format!("CSV record {} is unreadable", i + 1))?;
        let mut object = Map::with_capacity(plan.len());
        for ((column, ty), value) in plan.iter().zip(row.iter()) {
            object.insert(
                (*column).to_owned(),
                typed(*ty, value, mapping.empty_is_null),
            );
        }
        let data = serde_json::to_vec(&object)?;
        records.push(Record {
            number: i + 1,
            data,
        });
    }
    Ok(records)
}

fn typed(ty: FieldType, value: &str, empty_is_null: bool) -> Json {
    if value.is_empty() && empty_is_null {
        return Json::Null;
    }
    match ty {
        FieldType::Int64 => value
            .parse::<i64>()
            .map_or_else(|_| value.into(), Json::from),
        FieldType::Float64 => value
            .parse::<f64>()
            .ok()
            .and_then(serde_json::Number::from_f64)
            .map_or_else(|| value.into(), Json::Number),
        FieldType::Bool => match value.to_ascii_lowercase().as_str() {
            "true" => Json::Bool(true),
            "false" => Json::Bool(false),
            _ => value.into(),
        },
        _ => value.into(),
    }
}

/// Reads an NDJSON file: one message per non-empty line, data as written.
pub fn read_ndjson(path: &Path) -> anyhow::Result<Vec<Record>> {
    let text = std::fs::read(path).with_context(|| format!("failed to read {}", path.display()))?;
    Ok(text
        .split(|b| *b == b'\n')
        .enumerate()
        .filter(|(_, line)| !line.iter().all(u8::is_ascii_whitespace))
        .map(|(i, line)| Record {
            number: i + 1,
            data: line.to_vec(),
        })
        .collect())
}
