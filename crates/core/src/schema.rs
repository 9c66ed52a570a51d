//! Table schemas, read from BigQuery JSON schema files.
//!
//! A table is `metadata.json` (the ingestion columns) followed by the table's own file.
//! Column names are checked here once, so that every later use of a name in SQL is an
//! identifier that came from this file and passed [`valid_column_name`].

use std::path::{Path, PathBuf};

use serde::Deserialize;
use thiserror::Error;

/// A BigQuery column type. Legacy names (`INTEGER`, `FLOAT`, `BOOLEAN`, `STRUCT`) map
/// onto the standard ones.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldType {
    String,
    Bytes,
    Int64,
    Float64,
    Numeric,
    BigNumeric,
    Bool,
    Timestamp,
    Date,
    Time,
    DateTime,
    Json,
    Record,
}

impl FieldType {
    fn parse(name: &str) -> Option<FieldType> {
        Some(match name.to_ascii_uppercase().as_str() {
            "STRING" => FieldType::String,
            "BYTES" => FieldType::Bytes,
            "INT64" | "INTEGER" => FieldType::Int64,
            "FLOAT64" | "FLOAT" => FieldType::Float64,
            "NUMERIC" | "DECIMAL" => FieldType::Numeric,
            "BIGNUMERIC" | "BIGDECIMAL" => FieldType::BigNumeric,
            "BOOL" | "BOOLEAN" => FieldType::Bool,
            "TIMESTAMP" => FieldType::Timestamp,
            "DATE" => FieldType::Date,
            "TIME" => FieldType::Time,
            "DATETIME" => FieldType::DateTime,
            "JSON" => FieldType::Json,
            "RECORD" | "STRUCT" => FieldType::Record,
            _ => return None,
        })
    }

    /// The standard SQL name, as BigQuery writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            FieldType::String => "STRING",
            FieldType::Bytes => "BYTES",
            FieldType::Int64 => "INT64",
            FieldType::Float64 => "FLOAT64",
            FieldType::Numeric => "NUMERIC",
            FieldType::BigNumeric => "BIGNUMERIC",
            FieldType::Bool => "BOOL",
            FieldType::Timestamp => "TIMESTAMP",
            FieldType::Date => "DATE",
            FieldType::Time => "TIME",
            FieldType::DateTime => "DATETIME",
            FieldType::Json => "JSON",
            FieldType::Record => "RECORD",
        }
    }

    /// Whether `/data` can filter on a column of this type (scalar, ordered values).
    pub fn is_filterable(self) -> bool {
        !matches!(self, FieldType::Bytes | FieldType::Json | FieldType::Record)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    Nullable,
    Required,
    Repeated,
}

/// One column (or one field of a RECORD).
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    pub name: String,
    pub ty: FieldType,
    pub mode: Mode,
    /// Sub-fields; non-empty exactly when `ty` is [`FieldType::Record`].
    pub fields: Vec<Field>,
    pub description: Option<String>,
}

impl Field {
    /// Filterable columns: scalar types that are not REPEATED.
    pub fn is_filterable(&self) -> bool {
        self.mode != Mode::Repeated && self.ty.is_filterable()
    }
}

/// A table: its name, the metadata columns, then its own columns.
#[derive(Debug, Clone)]
pub struct TableSchema {
    pub name: String,
    /// All columns: the metadata columns first, then the payload columns.
    pub columns: Vec<Field>,
    /// How many of `columns` are metadata; the payload starts at this index.
    pub metadata_len: usize,
    /// The dead-letter table's columns (`dead_letter.json`).
    pub dead_letter: Vec<Field>,
}

/// The metadata columns every row carries, at these positions.
pub mod meta {
    /// The dead-letter columns, in the order of `dead_letter.json`.
    pub const DEAD_LETTER_NAMES: [&str; 9] = [
        "dead_lettered_at",
        "message_id",
        "publish_time",
        "attributes",
        "payload",
        "reason",
        "detail",
        "field",
        "target_table",
    ];
    pub const MESSAGE_ID: usize = 0;
    pub const PUBLISH_TIME: usize = 1;
    pub const ATTRIBUTES: usize = 2;
    pub const INGESTED_AT: usize = 3;
    pub const NAMES: [&str; 4] = ["message_id", "publish_time", "attributes", "ingested_at"];
}

#[derive(Debug, Error)]
pub enum SchemaError {
    #[error("failed to read schema file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("schema file {path} is not a BigQuery JSON schema: {source}")]
    Parse {
        path: PathBuf,
        source: serde_json::Error,
    },
    #[error("schema {context}: {problem}")]
    Invalid { context: String, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawField {
    name: String,
    #[serde(rename = "type")]
    ty: String,
    #[serde(default)]
    mode: Option<String>,
    #[serde(default)]
    fields: Vec<RawField>,
    #[serde(default)]
    description: Option<String>,
    // Accepted and ignored: they matter to BigQuery, not to validation.
    #[serde(default, rename = "policyTags")]
    _policy_tags: Option<serde_json::Value>,
    #[serde(default, rename = "maxLength")]
    _max_length: Option<serde_json::Value>,
    #[serde(default, rename = "defaultValueExpression")]
    _default_value: Option<serde_json::Value>,
}

/// BigQuery column names: a letter or underscore, then letters, digits and underscores.
/// Stricter than BigQuery's flexible names on purpose: these names are spliced into SQL
/// as quoted identifiers, and this rule leaves nothing there to escape.
pub fn valid_column_name(name: &str) -> bool {
    let mut chars = name.chars();
    let first_ok = chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    first_ok && name.len() <= 300 && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn convert(raw: RawField, context: &str) -> Result<Field, SchemaError> {
    let path = format!("{context}.{}", raw.name);
    let invalid = |problem: String| SchemaError::Invalid {
        context: path.clone(),
        problem,
    };

    if !valid_column_name(&raw.name) {
        return Err(invalid(format!(
            "`{}` is not a plain column name",
            raw.name
        )));
    }
    let ty = FieldType::parse(&raw.ty)
        .ok_or_else(|| invalid(format!("unsupported type `{}`", raw.ty)))?;
    let mode = match raw.mode.as_deref().map(str::to_ascii_uppercase).as_deref() {
        None | Some("NULLABLE") => Mode::Nullable,
        Some("REQUIRED") => Mode::Required,
        Some("REPEATED") => Mode::Repeated,
        Some(other) => return Err(invalid(format!("unsupported mode `{other}`"))),
    };
    if (ty == FieldType::Record) == raw.fields.is_empty() {
        return Err(invalid(
            "RECORD columns, and only they, must list `fields`".into(),
        ));
    }
    let fields = convert_all(raw.fields, &path)?;

    Ok(Field {
        name: raw.name,
        ty,
        mode,
        fields,
        description: raw.description,
    })
}

fn convert_all(raw: Vec<RawField>, context: &str) -> Result<Vec<Field>, SchemaError> {
    let fields = raw
        .into_iter()
        .map(|f| convert(f, context))
        .collect::<Result<Vec<_>, _>>()?;

    // BigQuery column names are case-insensitive, so `Id` and `id` would collide there.
    let mut seen = std::collections::HashSet::new();
    for field in &fields {
        if !seen.insert(field.name.to_ascii_lowercase()) {
            return Err(SchemaError::Invalid {
                context: context.to_owned(),
                problem: format!("column `{}` appears twice", field.name),
            });
        }
    }
    Ok(fields)
}

/// Parses one BigQuery JSON schema document (a JSON array of fields).
pub fn parse_fields(json: &str, context: &str) -> Result<Vec<Field>, SchemaError> {
    let raw: Vec<RawField> = serde_json::from_str(json).map_err(|source| SchemaError::Parse {
        path: PathBuf::from(context),
        source,
    })?;
    convert_all(raw, context)
}

fn read_fields(path: &Path) -> Result<Vec<Field>, SchemaError> {
    let text = std::fs::read_to_string(path).map_err(|source| SchemaError::Read {
        path: path.to_owned(),
        source,
    })?;
    let raw: Vec<RawField> = serde_json::from_str(&text).map_err(|source| SchemaError::Parse {
        path: path.to_owned(),
        source,
    })?;
    convert_all(raw, &path.display().to_string())
}

impl TableSchema {
    /// Builds a table from its metadata columns and its own columns.
    pub fn new(
        name: &str,
        metadata: Vec<Field>,
        payload: Vec<Field>,
        dead_letter: Vec<Field>,
    ) -> Result<TableSchema, SchemaError> {
        let invalid = |problem: String| SchemaError::Invalid {
            context: name.into(),
            problem,
        };

        if !valid_column_name(name) {
            return Err(invalid(format!("`{name}` is not a plain table name")));
        }
        let names: Vec<&str> = metadata.iter().map(|f| f.name.as_str()).collect();
        if names != meta::NAMES {
            return Err(invalid(format!(
                "metadata columns must be {:?} in that order, found {names:?}",
                meta::NAMES
            )));
        }
        let dl_names: Vec<&str> = dead_letter.iter().map(|f| f.name.as_str()).collect();
        if dl_names != meta::DEAD_LETTER_NAMES {
            return Err(invalid(format!(
                "dead-letter columns must be {:?} in that order, found {dl_names:?}",
                meta::DEAD_LETTER_NAMES
            )));
        }
        if payload.is_empty() {
            return Err(invalid("the table defines no columns".into()));
        }
        for field in &payload {
            if names.iter().any(|m| m.eq_ignore_ascii_case(&field.name)) {
                return Err(invalid(format!(
                    "column `{}` clashes with a metadata column",
                    field.name
                )));
            }
        }

        let metadata_len = metadata.len();
        let mut columns = metadata;
        columns.extend(payload);
        Ok(TableSchema {
            name: name.to_owned(),
            columns,
            metadata_len,
            dead_letter,
        })
    }

    /// Loads a table schema file. The table is named after the file stem; the metadata
    /// and dead-letter columns come from `metadata.json` and `dead_letter.json` in
    /// `shared_dir` (by default the schema file's own folder).
    pub fn load(path: &Path, shared_dir: Option<&Path>) -> Result<TableSchema, SchemaError> {
        let name =
            path.file_stem()
                .and_then(|s| s.to_str())
                .ok_or_else(|| SchemaError::Invalid {
                    context: path.display().to_string(),
                    problem: "the file name does not give a table name".into(),
                })?;
        let dir = match shared_dir {
            Some(dir) => dir.to_owned(),
            None => path.parent().map(Path::to_owned).unwrap_or_default(),
        };
        let metadata = read_fields(&dir.join("metadata.json"))?;
        let dead_letter = read_fields(&dir.join("dead_letter.json"))?;
        let payload = read_fields(path)?;
        TableSchema::new(name, metadata, payload, dead_letter)
    }

    /// The columns the publisher supplies (everything after the metadata).
    pub fn payload(&self) -> &[Field] {
        &self.columns[self.metadata_len..]
    }

    /// Column index by exact name.
    pub fn column_index(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|f| f.name == name)
    }

    /// The dead-letter table's name for this table.
    pub fn dead_letter_table(&self) -> String {
        format!("{}_dead_letter", self.name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn metadata() -> Vec<Field> {
        parse_fields(include_str!("../../../schemas/metadata.json"), "metadata").unwrap()
    }

    fn dead_letter() -> Vec<Field> {
        parse_fields(include_str!("../../../schemas/dead_letter.json"), "dl").unwrap()
    }

    #[test]
    fn shipped_schemas_load() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../schemas");
        for table in ["example_table", "flights"] {
            let schema = TableSchema::load(&root.join(format!("{table}.json")), None).unwrap();
            assert_eq!(schema.name, table);
            assert_eq!(schema.columns[0].name, "message_id");
        }
    }

    #[test]
    fn legacy_type_names_map_to_standard_ones() {
        let fields = parse_fields(
            r#"[{"name":"a","type":"INTEGER"},{"name":"b","type":"BOOLEAN"},
                {"name":"c","type":"STRUCT","fields":[{"name":"d","type":"FLOAT"}]}]"#,
            "t",
        )
        .unwrap();
        assert_eq!(fields[0].ty, FieldType::Int64);
        assert_eq!(fields[1].ty, FieldType::Bool);
        assert_eq!(fields[2].ty, FieldType::Record);
        assert_eq!(fields[2].fields[0].ty, FieldType::Float64);
    }

    #[test]
    fn names_that_would_need_quoting_are_refused() {
        for name in ["a-b", "1a", "a b", "a\"b", ""] {
            let json = format!(
                r#"[{{"name":{},"type":"STRING"}}]"#,
                serde_json::json!(name)
            );
            assert!(parse_fields(&json, "t").is_err(), "{name:?} was accepted");
        }
    }

    #[test]
    fn case_insensitive_duplicates_are_refused() {
        let err = parse_fields(
            r#"[{"name":"Id","type":"INT64"},{"name":"id","type":"INT64"}]"#,
            "t",
        );
        assert!(err.is_err());
    }

    #[test]
    fn a_column_may_not_shadow_metadata() {
        let payload = parse_fields(r#"[{"name":"Message_Id","type":"STRING"}]"#, "t").unwrap();
        assert!(TableSchema::new("t", metadata(), payload, dead_letter()).is_err());
    }

    #[test]
    fn record_needs_fields_and_scalars_must_not_have_them() {
        assert!(parse_fields(r#"[{"name":"r","type":"RECORD"}]"#, "t").is_err());
        let scalar_with_fields =
            r#"[{"name":"s","type":"STRING","fields":[{"name":"x","type":"STRING"}]}]"#;
        assert!(parse_fields(scalar_with_fields, "t").is_err());
    }
}
