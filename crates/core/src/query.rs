//! `/data` queries: parameters to a typed [`PageQuery`], and opaque page tokens.
//!
//! Syntax (documented for users in `docs/api.md`):
//! - `col=v` equality; `col.ne=v`, `col.gt=v`, `col.gte=v`, `col.lt=v`, `col.lte=v`;
//!   several filters are ANDed. Values are parsed by the column's type.
//! - `fields=a,b` projection; `order=desc` (default, newest first) or `asc`;
//!   `limit=N` (1 to the maximum); `page_token=...` from the previous page.
//!
//! Rows are ordered by `(ingested_at, message_id)`, a key that never changes once a row
//! is written, so a page token is a keyset position: rows that arrive between pages
//! never shift or repeat the rows that follow.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use thiserror::Error;

use crate::schema::{TableSchema, meta};
use crate::validate::parse_scalar_text;
use crate::value::Value;
use crate::wire::to_wire_json;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Eq,
    Ne,
    Gt,
    Gte,
    Lt,
    Lte,
}

impl Op {
    fn parse(s: &str) -> Option<Op> {
        Some(match s {
            "eq" => Op::Eq,
            "ne" => Op::Ne,
            "gt" => Op::Gt,
            "gte" => Op::Gte,
            "lt" => Op::Lt,
            "lte" => Op::Lte,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Op::Eq => "eq",
            Op::Ne => "ne",
            Op::Gt => "gt",
            Op::Gte => "gte",
            Op::Lt => "lt",
            Op::Lte => "lte",
        }
    }

    /// The SQL comparison operator.
    pub fn sql(self) -> &'static str {
        match self {
            Op::Eq => "=",
            Op::Ne => "<>",
            Op::Gt => ">",
            Op::Gte => ">=",
            Op::Lt => "<",
            Op::Lte => "<=",
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct Filter {
    /// Index into `TableSchema::columns`.
    pub column: usize,
    pub op: Op,
    pub value: Value,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Order {
    /// Newest first (the default).
    Desc,
    Asc,
}

/// A keyset position: the last row of a page.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Cursor {
    pub ingested_at: i64,
    pub message_id: String,
}

#[derive(Debug, Clone, PartialEq)]
pub struct PageQuery {
    /// Indices into `TableSchema::columns` of the columns to return, in order.
    pub columns: Vec<usize>,
    pub filters: Vec<Filter>,
    pub order: Order,
    pub limit: usize,
    /// Return rows strictly after this position (in `order`).
    pub after: Option<Cursor>,
}

#[derive(Debug, Clone, Copy)]
pub struct QueryLimits {
    pub default_limit: usize,
    pub max_limit: usize,
    pub max_filters: usize,
}

impl Default for QueryLimits {
    fn default() -> Self {
        QueryLimits {
            default_limit: 100,
            max_limit: 1000,
            max_filters: 20,
        }
    }
}

/// A query the caller got wrong; answered 400 with `param` and `detail`.
#[derive(Debug, Error, PartialEq)]
#[error("`{param}`: {detail}")]
pub struct QueryError {
    pub param: String,
    pub detail: String,
}

fn error(param: &str, detail: impl Into<String>) -> QueryError {
    QueryError {
        param: param.to_owned(),
        detail: detail.into(),
    }
}

#[derive(Serialize, Deserialize)]
struct Token {
    v: u8,
    /// Fingerprint of the filters and order the token was issued for.
    q: String,
    t: i64,
    id: String,
}

impl PageQuery {
    /// Parses `/data` query parameters against a table schema.
    pub fn parse(
        schema: &TableSchema,
        params: &[(String, String)],
        limits: QueryLimits,
    ) -> Result<PageQuery, QueryError> {
        let mut query = PageQuery {
            columns: (0..schema.columns.len()).collect(),
            filters: Vec::new(),
            order: Order::Desc,
            limit: limits.default_limit,
            after: None,
        };
        let mut token = None;
        let mut seen_special = std::collections::HashSet::new();

        for (key, value) in params {
            let special = matches!(key.as_str(), "limit" | "page_token" | "fields" | "order");
            if special && !seen_special.insert(key.as_str()) {
                return Err(error(key, "given more than once"));
            }
            match key.as_str() {
                "limit" => query.limit = parse_limit(value, limits)?,
                "page_token" => token = Some(value.as_str()),
                "fields" => query.columns = parse_fields(schema, value)?,
                "order" => {
                    query.order = match value.as_str() {
                        "desc" => Order::Desc,
                        "asc" => Order::Asc,
                        _ => return Err(error(key, "must be `asc` or `desc`")),
                    }
                }
                _ => query.filters.push(parse_filter(schema, key, value)?),
            }
        }

        if query.filters.len() > limits.max_filters {
            return Err(error(
                "filters",
                format!("at most {} filters", limits.max_filters),
            ));
        }
        if let Some(token) = token {
            query.after = Some(query.decode_token(schema, token)?);
        }
        Ok(query)
    }

    /// A digest of what a page token is bound to: the filters and the order. A token
    /// from another query is refused rather than silently skipping or repeating rows.
    fn fingerprint(&self, schema: &TableSchema) -> String {
        let mut parts: Vec<String> = self
            .filters
            .iter()
            .map(|f| {
                let field = &schema.columns[f.column];
                format!(
                    "{}.{}={}",
                    field.name,
                    f.op.as_str(),
                    to_wire_json(&f.value, field)
                )
            })
            .collect();
        parts.sort();
        parts.push(format!("order={:?}", self.order));
        let digest = Sha256::digest(parts.join("&").as_bytes());
        digest[..8].iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The opaque token for the page after `cursor`.
    pub fn page_token(&self, schema: &TableSchema, cursor: &Cursor) -> String {
        let token = Token {
            v: 1,
            q: self.fingerprint(schema),
            t: cursor.ingested_at,
            id: cursor.message_id.clone(),
        };
        let json = serde_json::to_vec(&token).unwrap_or_default();
        URL_SAFE_NO_PAD.encode(json)
    }

    fn decode_token(&self, schema: &TableSchema, text: &str) -> Result<Cursor, QueryError> {
        let bad = || error("page_token", "not a page token issued by this service");
        let bytes = URL_SAFE_NO_PAD.decode(text).map_err(|_| bad())?;
        let token: Token = serde_json::from_slice(&bytes).map_err(|_| bad())?;
        if token.v != 1 {
            return Err(bad());
        }
        if token.q != self.fingerprint(schema) {
            return Err(error(
                "page_token",
                "the token belongs to a query with other filters or order",
            ));
        }
        Ok(Cursor {
            ingested_at: token.t,
            message_id: token.id,
        })
    }
}

fn parse_limit(value: &str, limits: QueryLimits) -> Result<usize, QueryError> {
    let range = format!("must be a whole number from 1 to {}", limits.max_limit);
    let n: usize = value.parse().map_err(|_| error("limit", range.clone()))?;
    if n == 0 || n > limits.max_limit {
        return Err(error("limit", range));
    }
    Ok(n)
}

fn parse_fields(schema: &TableSchema, value: &str) -> Result<Vec<usize>, QueryError> {
    let mut columns = Vec::new();
    for name in value.split(',').map(str::trim) {
        let index = schema
            .column_index(name)
            .ok_or_else(|| error("fields", format!("no column named `{name}`")))?;
        if !columns.contains(&index) {
            columns.push(index);
        }
    }
    Ok(columns)
}

fn parse_filter(schema: &TableSchema, key: &str, value: &str) -> Result<Filter, QueryError> {
    let (name, op) = match key.rsplit_once('.') {
        Some((name, op)) => {
            let op = Op::parse(op)
                .ok_or_else(|| error(key, "operator must be one of eq, ne, gt, gte, lt, lte"))?;
            (name, op)
        }
        None => (key, Op::Eq),
    };
    let column = schema
        .column_index(name)
        .ok_or_else(|| error(key, format!("unknown parameter; no column named `{name}`")))?;
    let field = &schema.columns[column];
    if !field.is_filterable() || column == meta::ATTRIBUTES {
        return Err(error(key, format!("column `{name}` cannot be filtered")));
    }
    let value = parse_scalar_text(field.ty, value)
        .map_err(|(_, detail)| error(key, format!("{}: {detail}", field.ty.as_str())))?;
    Ok(Filter { column, op, value })
}
