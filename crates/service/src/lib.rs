//! What the ingest and data-api services share.

pub mod auth;
pub mod bigquery;
pub mod config;
pub mod health;
pub mod http_metrics;
pub mod limits;
pub mod oidc;
pub mod openapi;
pub mod problem;
pub mod serve;
pub mod shutdown;
pub mod telemetry;
