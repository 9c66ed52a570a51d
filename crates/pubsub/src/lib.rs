//! Pub/Sub for the pipeline, through Google's official `google-cloud-pubsub` client.
//!
//! - [`settings`]: delivery settings from `config/pubsub.json` (shared with Terraform).
//! - [`connect`]: clients for Google's service or an emulator endpoint.
//! - [`setup`]: create the topic, the push (or pull) subscription and the dead-letter
//!   topic with its pull subscription.
//! - [`pulled`]: a pulled message to the one [`pipeline_core::push::Message`] type.
//! - [`pull`]: streaming pull that acknowledges only what the caller says is durable.

pub mod connect;
pub mod pull;
pub mod pulled;
pub mod settings;
pub mod setup;

pub use connect::Endpoint;
/// Re-exported so callers name message and handler types without their own dependency.
pub use google_cloud_pubsub as client;
/// Well-known types (durations, field masks) for the admin requests of `client`.
pub use google_cloud_wkt as wkt;
pub use settings::Settings;
