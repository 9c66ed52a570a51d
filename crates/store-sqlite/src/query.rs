//! Page queries: parameterised SQL built from the schema and a `PageQuery`.

use pipeline_core::query::{Cursor, Order, PageQuery};
use pipeline_core::schema::{FieldType, TableSchema};
use pipeline_core::store::{Page, StoreError, StoredRow};
use rusqlite::Connection;
use rusqlite::types::Value as Sql;

use crate::codec;

/// The SQL text and its parameters; built on the async side, run on a reader.
pub struct Plan {
    sql: String,
    params: Vec<Sql>,
}

impl Plan {
    pub fn new(schema: &TableSchema, query: &PageQuery) -> Plan {
        let mut conditions = Vec::new();
        let mut params = Vec::new();

        for filter in &query.filters {
            let field = &schema.columns[filter.column];
            let column = format!("\"{}\"", field.name);
            let op = filter.op.sql();
            let condition = match field.ty {
                FieldType::Numeric | FieldType::BigNumeric => {
                    format!("dec_cmp({column}, ?) {op} 0")
                }
                _ => format!("{column} {op} ?"),
            };
            conditions.push(condition);
            params.push(codec::encode(field, &filter.value));
        }

        let (cmp, dir) = match query.order {
            Order::Desc => ("<", "DESC"),
            Order::Asc => (">", "ASC"),
        };
        if let Some(after) = &query.after {
            conditions.push(format!("(ingested_at, message_id) {cmp} (?, ?)"));
            params.push(Sql::Integer(after.ingested_at));
            params.push(Sql::Text(after.message_id.clone()));
        }

        let columns: Vec<String> = query
            .columns
            .iter()
            .map(|&i| format!("\"{}\"", schema.columns[i].name))
            .collect();
        let where_clause = if conditions.is_empty() {
            String::new()
        } else {
            format!(" WHERE {}", conditions.join(" AND "))
        };
        // One row more than asked tells whether another page follows.
        params.push(Sql::Integer(query.limit as i64 + 1));
        let sql = format!(
            "SELECT ingested_at, message_id{}{} FROM \"{}\"{where_clause} \
             ORDER BY ingested_at {dir}, message_id {dir} LIMIT ?",
            if columns.is_empty() { "" } else { ", " },
            columns.join(", "),
            schema.name,
        );
        Plan { sql, params }
    }

    pub fn execute(
        &self,
        conn: &Connection,
        schema: &TableSchema,
        query: &PageQuery,
    ) -> Result<Page, StoreError> {
        let failed = |e: rusqlite::Error| StoreError::new("sqlite page query failed", e);
        let mut stmt = conn.prepare_cached(&self.sql).map_err(failed)?;
        let mut rows = stmt
            .query(rusqlite::params_from_iter(&self.params))
            .map_err(failed)?;

        let mut out = Vec::with_capacity(query.limit.min(1024));
        let mut more = false;
        while let Some(row) = rows.next().map_err(failed)? {
            if out.len() == query.limit {
                more = true;
                break;
            }
            let cursor = Cursor {
                ingested_at: row.get(0).map_err(failed)?,
                message_id: row.get(1).map_err(failed)?,
            };
            let mut values = Vec::with_capacity(query.columns.len());
            for (n, &column) in query.columns.iter().enumerate() {
                let field = &schema.columns[column];
                let raw = row.get_ref(n + 2).map_err(failed)?;
                let value = codec::decode(field, raw)
                    .map_err(|e| StoreError::new("sqlite holds a value it cannot read", e))?;
                values.push(value);
            }
            out.push(StoredRow { cursor, values });
        }

        let next = if more {
            out.last().map(|r| r.cursor.clone())
        } else {
            None
        };
        Ok(Page { rows: out, next })
    }
}
