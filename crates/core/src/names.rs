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

/// Registers `# HELP` text (and units) for every name above with the installed recorder.
///
/// Call once after the recorder is installed: descriptions sent to no recorder are lost.
/// Describing a metric does not create a series; a metric appears in `/metrics` once it
/// has been recorded.
pub fn describe() {
    use metrics::{Unit, describe_counter, describe_gauge, describe_histogram};

    describe_counter!(
        HTTP_REQUESTS_TOTAL,
        Unit::Count,
        "HTTP requests answered, by service, matched route, method and status class."
    );
    describe_histogram!(
        HTTP_REQUEST_DURATION_SECONDS,
        Unit::Seconds,
        "Time from request received to response ready, by service, route, method and \
         status class."
    );
    describe_counter!(
        INGEST_MESSAGES_TOTAL,
        Unit::Count,
        "Pushed messages by outcome (stored, duplicate, dead_lettered, retried) and reason \
         code (none for stored and duplicate)."
    );
    describe_counter!(
        INGEST_UNKNOWN_FIELDS_DROPPED_TOTAL,
        Unit::Count,
        "Message keys the table does not define, dropped under unknown-fields=drop."
    );
    describe_histogram!(
        INGEST_BATCH_ROWS,
        Unit::Count,
        "Items (rows and dead letters) written per batch."
    );
    describe_histogram!(
        INGEST_BATCH_WRITE_DURATION_SECONDS,
        Unit::Seconds,
        "Time one batch write to the store took, by store."
    );
    describe_histogram!(
        INGEST_FRESHNESS_LAG_SECONDS,
        Unit::Seconds,
        "Publish time to durable row, per stored row."
    );
    describe_counter!(
        DATA_API_CACHE_REQUESTS_TOTAL,
        Unit::Count,
        "GET /data page lookups in the response cache, by result (hit, miss)."
    );
    describe_gauge!(
        BUILD_INFO,
        "Always 1; the labels name the service and its version."
    );
}
