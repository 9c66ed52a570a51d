//! Tables from the schema file. Column names are spliced into SQL only after
//! `pipeline_core::schema` has checked them to be plain identifiers.

use pipeline_core::schema::{Field, FieldType, Mode, TableSchema, meta};
use pipeline_core::wire::is_nested;
use rusqlite::Connection;

fn sql_type(field: &Field) -> &'static str {
    if is_nested(field) {
        return "TEXT";
    }
    match field.ty {
        FieldType::Int64 | FieldType::Bool | FieldType::Timestamp => "INTEGER",
        FieldType::Float64 => "REAL",
        FieldType::Bytes => "BLOB",
        _ => "TEXT",
    }
}

fn column_def(field: &Field) -> String {
    let not_null = if field.mode == Mode::Required {
        " NOT NULL"
    } else {
        ""
    };
    format!("\"{}\" {}{}", field.name, sql_type(field), not_null)
}

fn create_table_sql(name: &str, fields: &[Field]) -> String {
    let columns: Vec<String> = fields.iter().map(column_def).collect();
    format!(
        "CREATE TABLE IF NOT EXISTS \"{name}\" (\n  {},\n  UNIQUE (message_id)\n)",
        columns.join(",\n  ")
    )
}

fn existing_columns(conn: &Connection, table: &str) -> rusqlite::Result<Vec<String>> {
    let mut stmt = conn.prepare(&format!("SELECT name FROM pragma_table_info('{table}')"))?;
    stmt.query_map([], |r| r.get(0))?.collect()
}

/// Creates the table, its ordering index and the dead-letter table; on an existing file,
/// adds columns that the schema file gained (NULLABLE or REPEATED only, as BigQuery
/// allows) and refuses any other difference.
pub fn create_or_migrate(conn: &Connection, schema: &TableSchema) -> Result<(), String> {
    let table = &schema.name;
    let dead_letter = schema.dead_letter_table();
    let sql_err = |e: rusqlite::Error| e.to_string();

    for (name, fields) in [
        (table, &schema.columns),
        (&dead_letter, &schema.dead_letter),
    ] {
        let existing = existing_columns(conn, name).map_err(sql_err)?;
        if existing.is_empty() {
            conn.execute_batch(&create_table_sql(name, fields))
                .map_err(sql_err)?;
            continue;
        }
        for (i, field) in fields.iter().enumerate() {
            match existing.get(i) {
                Some(have) if have == &field.name => {}
                Some(have) => {
                    return Err(format!(
                        "table `{name}` has column `{have}` where the schema file has `{}`; \
                         columns may only be added at the end",
                        field.name
                    ));
                }
                None if field.mode == Mode::Required => {
                    return Err(format!(
                        "the schema file adds REQUIRED column `{}` to existing table `{name}`; \
                         only NULLABLE or REPEATED columns can be added",
                        field.name
                    ));
                }
                None => {
                    let sql = format!("ALTER TABLE \"{name}\" ADD COLUMN {}", column_def(field));
                    conn.execute_batch(&sql).map_err(sql_err)?;
                    tracing::info!(table = %name, column = %field.name, "added column");
                }
            }
        }
        if existing.len() > fields.len() {
            return Err(format!(
                "table `{name}` has columns the schema file no longer has: {:?}",
                &existing[fields.len()..]
            ));
        }
    }

    let index = format!(
        "CREATE INDEX IF NOT EXISTS \"{table}_by_ingestion\" \
         ON \"{table}\" (ingested_at, message_id)"
    );
    conn.execute_batch(&index).map_err(sql_err)
}

fn quoted(names: impl Iterator<Item = String>) -> String {
    names
        .map(|n| format!("\"{n}\""))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Parameters: every column except `ingested_at`, in schema order, then `ingested_at`.
pub fn insert_row_sql(schema: &TableSchema) -> String {
    let names = schema
        .columns
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != meta::INGESTED_AT)
        .map(|(_, f)| f.name.clone())
        .chain(std::iter::once("ingested_at".to_owned()));
    let placeholders = vec!["?"; schema.columns.len()].join(", ");
    format!(
        "INSERT INTO \"{}\" ({}) VALUES ({placeholders}) ON CONFLICT (message_id) DO NOTHING",
        schema.name,
        quoted(names)
    )
}

pub fn insert_dead_letter_sql(schema: &TableSchema) -> String {
    let names = schema.dead_letter.iter().map(|f| f.name.clone());
    let placeholders = vec!["?"; schema.dead_letter.len()].join(", ");
    format!(
        "INSERT INTO \"{}\" ({}) VALUES ({placeholders}) ON CONFLICT (message_id) DO NOTHING",
        schema.dead_letter_table(),
        quoted(names)
    )
}
