//! The shared core of the pipeline: everything both services agree on.
//!
//! - [`schema`]: table schemas read from BigQuery JSON schema files.
//! - [`value`]: typed cell values and their wire encoding.
//! - [`validate`]: message data bytes to a typed row, or a [`reason::Rejection`].
//! - [`push`]: Pub/Sub push requests (wrapped and unwrapped) to one [`push::Message`].
//! - [`outcome`]: what each result means for acknowledgement.
//! - [`store`]: the storage contract every backend implements.
//! - [`query`]: `/data` query parameters, filters and page tokens.
//! - [`batch`]: group commit in front of any store.
//!
//! Nothing here knows about HTTP frameworks or databases.

pub mod batch;
pub mod names;
pub mod outcome;
pub mod push;
pub mod query;
pub mod reason;
pub mod schema;
pub mod store;
pub mod temporal;
pub mod validate;
pub mod value;
pub mod wire;
