//! The `pipeline` CLI's commands, as a library so tests can drive them.

pub mod csv_source;
pub mod publish;
pub mod up;
