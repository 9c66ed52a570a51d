//! `pipeline pubsub setup`: the topic, its subscription and the dead-letter path.
//!
//! Creates what is missing and brings an existing subscription's delivery settings in
//! line with the settings file, so running it twice is harmless. Names follow the
//! Terraform module: topic `T`, dead-letter topic `T-dead-letter`, dead-letter pull
//! subscription `T-dead-letter-pull`.

use std::time::Duration;

use anyhow::{Context, anyhow, ensure};
use google_cloud_gax::error::rpc::Code;
use google_cloud_pubsub::client::{SubscriptionAdmin, TopicAdmin};
use google_cloud_pubsub::model::{
    DeadLetterPolicy, ExpirationPolicy, PushConfig, RetryPolicy, Subscription, Topic,
    push_config::PubsubWrapper,
};
use google_cloud_wkt::FieldMask;

use crate::connect::{self, Endpoint};
use crate::settings::Settings;

/// What to create.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    /// `projects/P/topics/T`.
    pub topic: String,
    /// `projects/P/subscriptions/S`: pushed to `push_endpoint`, or pulled when `None`.
    pub subscription: String,
    /// `https://HOST/pubsub/push`. Wrapped push: the body is the JSON envelope.
    pub push_endpoint: Option<String>,
    pub dead_letter_topic: String,
    pub dead_letter_subscription: String,
}

impl Plan {
    /// A plan with the dead-letter names derived from the topic, as Terraform names them.
    pub fn new(
        topic: &str,
        subscription: &str,
        push_endpoint: Option<String>,
    ) -> anyhow::Result<Plan> {
        let (project, topic_id) = split_name(topic, "topics")?;
        split_name(subscription, "subscriptions")?;
        Ok(Plan {
            topic: topic.to_owned(),
            subscription: subscription.to_owned(),
            push_endpoint,
            dead_letter_topic: format!("projects/{project}/topics/{topic_id}-dead-letter"),
            dead_letter_subscription: format!(
                "projects/{project}/subscriptions/{topic_id}-dead-letter-pull"
            ),
        })
    }
}

/// `projects/P/<kind>/ID` -> (P, ID), with Pub/Sub's 3-character minimum checked here
/// because the emulator's own message for it ("Invalid [topics] name") names no limit.
pub fn split_name<'a>(name: &'a str, kind: &str) -> anyhow::Result<(&'a str, &'a str)> {
    let parts: Vec<&str> = name.split('/').collect();
    match parts.as_slice() {
        ["projects", project, k, id] if *k == kind && !project.is_empty() => {
            anyhow::ensure!(
                id.len() >= 3,
                "`{name}`: Pub/Sub ids need at least 3 characters"
            );
            Ok((project, id))
        }
        _ => Err(anyhow!(
            "`{name}` is not of the form projects/PROJECT/{kind}/ID"
        )),
    }
}

/// What setup did to each resource, for the command's report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    pub lines: Vec<String>,
}

/// Creates (or updates) every resource of `plan`.
pub async fn run(endpoint: &Endpoint, plan: &Plan, settings: &Settings) -> anyhow::Result<Report> {
    let d = settings.durations()?;
    let topics = connect::topic_admin(endpoint).await?;
    let subscriptions = connect::subscription_admin(endpoint).await?;
    let mut lines = Vec::new();

    lines.push(ensure_topic(&topics, &plan.topic, d.message_retention).await?);
    lines.push(ensure_topic(&topics, &plan.dead_letter_topic, d.dead_letter_retention).await?);

    let main = main_subscription(plan, settings)?;
    lines.push(ensure_subscription(&subscriptions, main, MAIN_MASK).await?);
    let dead = Subscription::new()
        .set_name(&plan.dead_letter_subscription)
        .set_topic(&plan.dead_letter_topic)
        .set_ack_deadline_seconds(60)
        .set_message_retention_duration(wkt(d.dead_letter_retention)?)
        .set_expiration_policy(ExpirationPolicy::new());
    lines.push(ensure_subscription(&subscriptions, dead, DEAD_LETTER_MASK).await?);
    Ok(Report { lines })
}

const MAIN_MASK: &[&str] = &[
    "push_config",
    "ack_deadline_seconds",
    "message_retention_duration",
    "retry_policy",
    "dead_letter_policy",
];
const DEAD_LETTER_MASK: &[&str] = &["ack_deadline_seconds", "message_retention_duration"];

fn main_subscription(plan: &Plan, settings: &Settings) -> anyhow::Result<Subscription> {
    let d = settings.durations()?;
    let push = match &plan.push_endpoint {
        Some(url) => PushConfig::new()
            .set_push_endpoint(url)
            .set_pubsub_wrapper(PubsubWrapper::new()),
        // An empty push config makes (or keeps) it a pull subscription.
        None => PushConfig::new(),
    };
    Ok(Subscription::new()
        .set_name(&plan.subscription)
        .set_topic(&plan.topic)
        .set_push_config(push)
        .set_ack_deadline_seconds(settings.ack_deadline_seconds as i32)
        .set_message_retention_duration(wkt(d.subscription_retention)?)
        // An empty ttl: never expire a quiet system's subscription.
        .set_expiration_policy(ExpirationPolicy::new())
        .set_retry_policy(
            RetryPolicy::new()
                .set_minimum_backoff(wkt(d.minimum_backoff)?)
                .set_maximum_backoff(wkt(d.maximum_backoff)?),
        )
        .set_dead_letter_policy(
            DeadLetterPolicy::new()
                .set_dead_letter_topic(&plan.dead_letter_topic)
                .set_max_delivery_attempts(settings.max_delivery_attempts as i32),
        ))
}

fn wkt(d: Duration) -> anyhow::Result<google_cloud_wkt::Duration> {
    google_cloud_wkt::Duration::try_from(d).map_err(|e| anyhow!("duration {d:?}: {e}"))
}

fn already_exists(err: &google_cloud_pubsub::Error) -> bool {
    err.status().is_some_and(|s| s.code == Code::AlreadyExists)
}

async fn ensure_topic(
    admin: &TopicAdmin,
    name: &str,
    retention: Duration,
) -> anyhow::Result<String> {
    let topic = Topic::new()
        .set_name(name)
        .set_message_retention_duration(wkt(retention)?);
    match admin.create_topic().with_request(topic).send().await {
        Ok(_) => Ok(format!("created topic {name}")),
        Err(err) if already_exists(&err) => Ok(format!("topic {name} exists")),
        Err(err) => Err(err).with_context(|| format!("failed to create topic {name}")),
    }
}

async fn ensure_subscription(
    admin: &SubscriptionAdmin,
    subscription: Subscription,
    mask: &[&str],
) -> anyhow::Result<String> {
    let name = subscription.name.clone();
    match admin
        .create_subscription()
        .with_request(subscription.clone())
        .send()
        .await
    {
        Ok(_) => Ok(format!("created subscription {name}")),
        Err(err) if already_exists(&err) => {
            // The topic of a subscription cannot change, and updating one that reads
            // another topic would point its dead letters at this plan's: refuse it.
            let existing = admin
                .get_subscription()
                .set_subscription(&name)
                .send()
                .await
                .with_context(|| format!("failed to read subscription {name}"))?;
            ensure!(
                existing.topic == subscription.topic,
                "subscription {name} already exists on topic {}, not {}; \
                 choose another subscription name or delete it",
                existing.topic,
                subscription.topic
            );
            // Bring the delivery settings in line.
            admin
                .update_subscription()
                .set_subscription(subscription)
                .set_update_mask(FieldMask::default().set_paths(mask.iter().copied()))
                .send()
                .await
                .with_context(|| format!("failed to update subscription {name}"))?;
            Ok(format!("updated subscription {name}"))
        }
        Err(err) => Err(err).with_context(|| format!("failed to create subscription {name}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dead_letter_names_follow_the_terraform_module() {
        let plan = Plan::new(
            "projects/proj/topics/flights",
            "projects/proj/subscriptions/flights-ingest-push",
            None,
        )
        .unwrap();
        assert_eq!(
            plan.dead_letter_topic,
            "projects/proj/topics/flights-dead-letter"
        );
        assert_eq!(
            plan.dead_letter_subscription,
            "projects/proj/subscriptions/flights-dead-letter-pull"
        );
    }

    #[test]
    fn malformed_and_short_names_are_refused_with_the_form_expected() {
        let err = split_name("flights", "topics").unwrap_err().to_string();
        assert!(err.contains("projects/PROJECT/topics/ID"), "{err}");
        let err = split_name("projects/p/topics/t", "topics")
            .unwrap_err()
            .to_string();
        assert!(err.contains("3 characters"), "{err}");
        assert!(split_name("projects/p/subscriptions/abc", "topics").is_err());
    }
}
