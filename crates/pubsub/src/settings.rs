//! Delivery settings, read from one file that Terraform reads too.
//!
//! `config/pubsub.json` uses the keys and formats of the Terraform module's `pubsub`
//! variable (`terraform/modules/pipeline/variables.tf`), so the file can be passed to it
//! as `jsondecode(file(...))` unchanged and the emulator and the cloud cannot drift.
//! Durations are written as Terraform writes them: whole seconds with an `s` suffix.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde::Deserialize;

/// The default settings file, relative to the repository root.
pub const DEFAULT_PATH: &str = "config/pubsub.json";

#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Settings {
    /// How long the topic keeps messages, acknowledged or not (`"604800s"`).
    pub message_retention: String,
    /// How long Pub/Sub waits for a push answer or a pull ack before redelivering.
    pub ack_deadline_seconds: u32,
    /// Redelivery backoff after a nack or a failed push: the first wait.
    pub minimum_backoff: String,
    /// Redelivery backoff: the longest wait.
    pub maximum_backoff: String,
    /// Deliveries before a message moves to the dead-letter topic (Pub/Sub: 5..=100).
    pub max_delivery_attempts: u32,
    /// How long the dead-letter topic and its pull subscription keep messages.
    pub dead_letter_retention: String,
    /// How long the push subscription keeps unacknowledged messages.
    pub subscription_retention: String,
}

/// The parsed durations of [`Settings`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Durations {
    pub message_retention: Duration,
    pub minimum_backoff: Duration,
    pub maximum_backoff: Duration,
    pub dead_letter_retention: Duration,
    pub subscription_retention: Duration,
}

impl Settings {
    /// Reads and checks a settings file.
    pub fn load(path: &Path) -> anyhow::Result<Settings> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read Pub/Sub settings {}", path.display()))?;
        let settings: Settings = serde_json::from_str(&text)
            .with_context(|| format!("Pub/Sub settings {} are not valid", path.display()))?;
        settings
            .durations()
            .with_context(|| format!("Pub/Sub settings {} are out of range", path.display()))?;
        Ok(settings)
    }

    /// The durations, checked against Pub/Sub's own limits so a bad file fails here
    /// with the field's name rather than as an API error.
    pub fn durations(&self) -> anyhow::Result<Durations> {
        ensure!(
            (10..=600).contains(&self.ack_deadline_seconds),
            "ack_deadline_seconds must be within 10..=600"
        );
        ensure!(
            (5..=100).contains(&self.max_delivery_attempts),
            "max_delivery_attempts must be within 5..=100"
        );
        let d = Durations {
            message_retention: seconds("message_retention", &self.message_retention)?,
            minimum_backoff: seconds("minimum_backoff", &self.minimum_backoff)?,
            maximum_backoff: seconds("maximum_backoff", &self.maximum_backoff)?,
            dead_letter_retention: seconds("dead_letter_retention", &self.dead_letter_retention)?,
            subscription_retention: seconds(
                "subscription_retention",
                &self.subscription_retention,
            )?,
        };
        ensure!(
            d.minimum_backoff <= d.maximum_backoff && d.maximum_backoff.as_secs() <= 600,
            "backoff must satisfy minimum_backoff <= maximum_backoff <= 600s"
        );
        // A topic keeps messages up to 31 days, a subscription up to 7; the dead-letter
        // retention is also its pull subscription's.
        for (name, retention, max) in [
            ("message_retention", d.message_retention, 31 * 24 * 3600),
            (
                "dead_letter_retention",
                d.dead_letter_retention,
                7 * 24 * 3600,
            ),
            (
                "subscription_retention",
                d.subscription_retention,
                7 * 24 * 3600,
            ),
        ] {
            ensure!(
                (600..=max).contains(&retention.as_secs()),
                "{name} must be within 600s..={max}s"
            );
        }
        Ok(d)
    }
}

/// `"600s"` -> 600 seconds; the only form Terraform's validation admits.
fn seconds(name: &str, text: &str) -> anyhow::Result<Duration> {
    // Digits only, as Terraform's `^[0-9]+s$`: `parse` alone would take `+5s`.
    let Some(digits) = text
        .strip_suffix('s')
        .filter(|d| !d.is_empty() && d.bytes().all(|b| b.is_ascii_digit()))
    else {
        bail!("{name} `{text}` must be whole seconds like `600s`");
    };
    let secs: u64 = digits
        .parse()
        .with_context(|| format!("{name} `{text}` must be whole seconds like `600s`"))?;
    Ok(Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn repo_settings() -> Settings {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../..")
            .join(DEFAULT_PATH);
        Settings::load(&path).unwrap()
    }

    #[test]
    fn the_repository_file_loads_and_matches_terraform_defaults() {
        let s = repo_settings();
        // The Terraform module's defaults (variables.tf); a change to one side
        // without the other shows up here.
        assert_eq!(s.ack_deadline_seconds, 60);
        assert_eq!(s.minimum_backoff, "10s");
        assert_eq!(s.maximum_backoff, "600s");
        assert_eq!(s.max_delivery_attempts, 10);
        assert_eq!(s.message_retention, "604800s");
    }

    #[test]
    fn out_of_range_values_name_the_field() {
        let mut s = repo_settings();
        s.minimum_backoff = "700s".into();
        let err = s.durations().unwrap_err().to_string();
        assert!(err.contains("minimum_backoff"), "{err}");

        let mut s = repo_settings();
        s.max_delivery_attempts = 4;
        let err = s.durations().unwrap_err().to_string();
        assert!(err.contains("max_delivery_attempts"), "{err}");

        let mut s = repo_settings();
        s.message_retention = "7d".into();
        let err = s.durations().unwrap_err().to_string();
        assert!(err.contains("message_retention"), "{err}");

        // Terraform's pattern refuses a sign; so does this check.
        let mut s = repo_settings();
        s.minimum_backoff = "+5s".into();
        let err = s.durations().unwrap_err().to_string();
        assert!(err.contains("minimum_backoff"), "{err}");
    }

    #[test]
    fn subscriptions_keep_messages_at_most_seven_days_topics_thirty_one() {
        let mut s = repo_settings();
        s.message_retention = "2678400s".into();
        s.durations().unwrap();

        let mut s = repo_settings();
        s.subscription_retention = "2678400s".into();
        let err = s.durations().unwrap_err().to_string();
        assert!(err.contains("subscription_retention"), "{err}");

        let mut s = repo_settings();
        s.dead_letter_retention = "604801s".into();
        let err = s.durations().unwrap_err().to_string();
        assert!(err.contains("dead_letter_retention"), "{err}");
    }
}
