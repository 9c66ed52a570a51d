//! `pipeline publish`: send a file through the real push path, as Pub/Sub would.
//!
//! Each record becomes a wrapped push request with a message id derived from the file
//! (`<prefix>-<record number>`), so publishing the same file twice stores nothing new.
//! A 503 is retried with exponential backoff, as Pub/Sub retries; anything else that
//! is not 2xx counts as failed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use backon::{ExponentialBuilder, Retryable};
use base64::Engine;
use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

use crate::csv_source::Record;

#[derive(Debug, Clone)]
pub struct PublishOptions {
    /// The ingest push URL (`http://host:port/pubsub/push`).
    pub url: String,
    pub concurrency: usize,
    pub id_prefix: String,
    /// Tries per message before it counts as failed.
    pub max_attempts: usize,
    pub progress: bool,
}

#[derive(Debug, Default, Clone, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub sent: u64,
    pub stored: u64,
    pub duplicates: u64,
    pub dead_lettered: u64,
    pub failed: u64,
    /// 503 answers that were retried (each retry counted once).
    pub retries: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    #[serde(flatten)]
    pub counts: Counts,
    pub seconds: f64,
    pub messages_per_second: f64,
}

impl std::fmt::Display for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let c = &self.counts;
        write!(
            f,
            "sent {} | stored {} | duplicates {} | dead-lettered {} | failed {} | \
             retries {} | {:.1} s | {:.0} msg/s",
            c.sent,
            c.stored,
            c.duplicates,
            c.dead_lettered,
            c.failed,
            c.retries,
            self.seconds,
            self.messages_per_second
        )
    }
}

#[derive(Default)]
struct Tally {
    stored: AtomicU64,
    duplicates: AtomicU64,
    dead_lettered: AtomicU64,
    failed: AtomicU64,
    retries: AtomicU64,
}

/// A wrapped push body for one record, as Pub/Sub sends it.
pub fn envelope(id: &str, data: &[u8], source: &str) -> serde_json::Value {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Nanos, true);
    serde_json::json!({
        "message": {
            "data": base64::engine::general_purpose::STANDARD.encode(data),
            "attributes": { "source": source },
            "messageId": id,
            "message_id": id,
            "publishTime": now,
            "publish_time": now,
        },
        "subscription": "projects/local/subscriptions/pipeline-publish",
    })
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    #[error("{0} (retried)")]
    Retry(String),
    #[error("{0}")]
    Fatal(String),
}

async fn send_one(
    client: &reqwest::Client,
    url: &str,
    body: &serde_json::Value,
) -> Result<String, SendError> {
    let response = client
        .post(url)
        .json(body)
        .send()
        .await
        .map_err(|e| SendError::Retry(format!("request failed: {e}")))?;
    let status = response.status();
    if status.is_success() {
        let outcome = response
            .headers()
            .get("x-pipeline-outcome")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("stored")
            .to_owned();
        return Ok(outcome);
    }
    let text = response.text().await.unwrap_or_default();
    // Pub/Sub redelivers after 429 and 5xx; the same here.
    if status.as_u16() == 429 || status.is_server_error() {
        Err(SendError::Retry(format!("{status}: {text}")))
    } else {
        Err(SendError::Fatal(format!("{status}: {text}")))
    }
}

/// Publishes `records` and returns what happened to them.
pub async fn publish(
    records: Vec<Record>,
    source: &str,
    options: &PublishOptions,
) -> anyhow::Result<Summary> {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(options.concurrency)
        .timeout(Duration::from_secs(30))
        .build()
        .context("failed to build the HTTP client")?;
    let bar = if options.progress {
        ProgressBar::new(records.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let tally = Tally::default();
    let sent = records.len() as u64;
    let started = Instant::now();
    let backoff = ExponentialBuilder::default()
        .with_min_delay(Duration::from_millis(50))
        .with_max_delay(Duration::from_secs(5))
        .with_max_times(options.max_attempts.saturating_sub(1))
        .with_jitter();

    futures::stream::iter(records)
        .for_each_concurrent(options.concurrency.max(1), |record| {
            let (client, tally, bar) = (&client, &tally, &bar);
            let id = format!("{}-{:06}", options.id_prefix, record.number);
            async move {
                let body = envelope(&id, &record.data, source);
                let result = (|| send_one(client, &options.url, &body))
                    .retry(backoff)
                    .when(|e| matches!(e, SendError::Retry(_)))
                    .notify(|_, _| {
                        tally.retries.fetch_add(1, Ordering::Relaxed);
                    })
                    .await;
                let counter = match result.as_deref() {
                    Ok("duplicate") => &tally.duplicates,
                    Ok("dead_lettered") => &tally.dead_lettered,
                    Ok(_) => &tally.stored,
                    Err(err) => {
                        bar.suspend(|| {
                            tracing::warn!(message_id = %id, error = %err, "message not delivered")
                        });
                        &tally.failed
                    }
                };
                counter.fetch_add(1, Ordering::Relaxed);
                bar.inc(1);
            }
        })
        .await;
    bar.finish_and_clear();

    let seconds = started.elapsed().as_secs_f64();
    let load = |a: &AtomicU64| a.load(Ordering::Relaxed);
    Ok(Summary {
        counts: Counts {
            sent,
            stored: load(&tally.stored),
            duplicates: load(&tally.duplicates),
            dead_lettered: load(&tally.dead_lettered),
            failed: load(&tally.failed),
            retries: load(&tally.retries),
        },
        seconds,
        messages_per_second: if seconds > 0.0 {
            sent as f64 / seconds
        } else {
            0.0
        },
    })
}
