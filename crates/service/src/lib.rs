//! What the ingest and data-api services share.

pub mod bigquery;
pub mod config;
pub mod health;
pub mod http_metrics;
pub mod problem;
pub mod shutdown;
pub mod telemetry;
