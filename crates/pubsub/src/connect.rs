//! Clients for Pub/Sub itself or for the emulator.
//!
//! Google's crate does not read `PUBSUB_EMULATOR_HOST`, so the emulator is always named
//! explicitly (`--pubsub-endpoint http://127.0.0.1:PORT`). With an endpoint the clients
//! send no credentials (the emulator has no auth); without one they use Application
//! Default Credentials against Google's service.

use std::time::Duration;

use anyhow::Context;
use google_cloud_auth::credentials::anonymous;
use google_cloud_gax::retry_policy::{Aip194Strict, RetryPolicyExt};
use google_cloud_pubsub::client::{Publisher, Subscriber, SubscriptionAdmin, TopicAdmin};
use google_cloud_pubsub::retry_policy::RetryableErrors;

/// How long one admin call may take, retries included. Without a bound a wrong
/// endpoint hangs silently for a long time instead of failing.
pub const ADMIN_CALL_LIMIT: Duration = Duration::from_secs(30);

/// Where Pub/Sub is: Google's service, or an emulator at an explicit URL.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoint {
    /// `http://127.0.0.1:PORT` for the emulator; `None` for Google's service.
    pub url: Option<String>,
}

impl Endpoint {
    pub fn new(url: Option<String>) -> Endpoint {
        Endpoint { url }
    }

    fn describe(&self) -> &str {
        self.url.as_deref().unwrap_or("Google's Pub/Sub service")
    }
}

// The four client builders are distinct types with the same two settings.
macro_rules! configure {
    ($builder:expr, $endpoint:expr) => {{
        let builder = $builder;
        match &$endpoint.url {
            Some(url) => builder
                .with_endpoint(url.clone())
                .with_credentials(anonymous::Builder::new().build()),
            None => builder,
        }
    }};
}

pub async fn topic_admin(endpoint: &Endpoint) -> anyhow::Result<TopicAdmin> {
    let builder = configure!(TopicAdmin::builder(), endpoint)
        .with_retry_policy(Aip194Strict.with_time_limit(ADMIN_CALL_LIMIT));
    builder
        .build()
        .await
        .with_context(|| format!("failed to connect to {}", endpoint.describe()))
}

pub async fn subscription_admin(endpoint: &Endpoint) -> anyhow::Result<SubscriptionAdmin> {
    let builder = configure!(SubscriptionAdmin::builder(), endpoint)
        .with_retry_policy(Aip194Strict.with_time_limit(ADMIN_CALL_LIMIT));
    builder
        .build()
        .await
        .with_context(|| format!("failed to connect to {}", endpoint.describe()))
}

/// A batching publisher for one topic (`projects/P/topics/T`). Each publish is retried
/// for at most `limit`; the client's own default (10 minutes) leaves a command aimed at
/// a wrong endpoint silent for that long.
pub async fn publisher(
    endpoint: &Endpoint,
    topic: &str,
    limit: Duration,
) -> anyhow::Result<Publisher> {
    configure!(Publisher::builder(topic.to_owned()), endpoint)
        .with_retry_policy(RetryableErrors.with_time_limit(limit))
        .build()
        .await
        .with_context(|| format!("failed to connect a publisher to {}", endpoint.describe()))
}

pub async fn subscriber(endpoint: &Endpoint) -> anyhow::Result<Subscriber> {
    configure!(Subscriber::builder(), endpoint)
        .build()
        .await
        .with_context(|| format!("failed to connect a subscriber to {}", endpoint.describe()))
}
