//! The `pipeline` CLI's commands, as a library so tests can drive them.

pub mod bq;
pub mod csv_source;
pub mod publish;
pub mod pubsub_setup;
pub mod roundtrip;
pub mod topic_publish;
pub mod up;
