//! Integration tests: real services on port 0, spoken to over HTTP.
//!
//! One test binary (modules below) so the suite links once. `support` starts services
//! in process or as real `pipeline` processes.

mod support;

mod bigquery;
mod contract;
mod data_api;
mod durability;
mod flights;
mod observability;
mod openapi;
mod pubsub;
mod push;
mod security;
