//! Metric names, defined once. Units are part of the name.
//!
//! The label sets are bounded: routes are matched route templates, reasons are
//! [`crate::reason::ReasonCode`] values, outcomes are [`crate::outcome::Outcome`] names.

pub const HTTP_REQUESTS_TOTAL: &str = "http_server_requests_total";
pub const HTTP_REQUEST_DURATION_SECONDS: &str = "http_server_request_duration_seconds";
pub const INGEST_MESSAGES_TOTAL: &str = "ingest_messages_total";
pub const INGEST_UNKNOWN_FIELDS_DROPPED_TOTAL: &str = "ingest_unknown_fields_dropped_total";
pub const INGEST_BATCH_ROWS: &str = "ingest_batch_rows";
pub const INGEST_BATCH_WRITE_DURATION_SECONDS: &str = "ingest_batch_write_duration_seconds";
pub const INGEST_FRESHNESS_LAG_SECONDS: &str = "ingest_freshness_lag_seconds";
pub const DATA_API_CACHE_REQUESTS_TOTAL: &str = "data_api_cache_requests_total";
pub const BUILD_INFO: &str = "build_info";
