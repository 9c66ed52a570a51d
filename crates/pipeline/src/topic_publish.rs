//! `pipeline publish --topic`: publish a file through Pub/Sub itself.
//!
//! Unlike `--url` mode, Pub/Sub assigns the message ids, so publishing the same file
//! twice stores it twice. Each message carries `source` (the file name) and `record`
//! (its record number) attributes, so a row can be traced back to its line.

use std::time::{Duration, Instant};

use anyhow::Context;
use futures::StreamExt;
use futures::stream::FuturesUnordered;
use indicatif::{ProgressBar, ProgressStyle};
use pipeline_pubsub::Endpoint;
use pipeline_pubsub::client::model::Message;
use serde::Serialize;

use crate::csv_source::Record;

#[derive(Debug, Clone, clap::Args)]
pub struct TopicArgs {
    /// Publish to this topic (`projects/P/topics/T`) instead of posting to `--url`.
    #[arg(long)]
    pub topic: Option<String>,
    /// Pub/Sub endpoint, e.g. an emulator at `http://127.0.0.1:8085`
    /// [default: Google's service].
    #[arg(long, env = "PIPELINE_PUBSUB_ENDPOINT")]
    pub pubsub_endpoint: Option<String>,
    /// Count a message as failed when Pub/Sub has not accepted it after this long,
    /// retries included.
    #[arg(long, default_value_t = 60, value_name = "SECONDS")]
    pub publish_timeout_secs: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct TopicSummary {
    pub sent: u64,
    /// Accepted by Pub/Sub (not yet stored: ingest does that asynchronously).
    pub published: u64,
    pub failed: u64,
    pub seconds: f64,
    pub messages_per_second: f64,
}

impl std::fmt::Display for TopicSummary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "sent {} | published {} | failed {} | {:.1} s | {:.0} msg/s",
            self.sent, self.published, self.failed, self.seconds, self.messages_per_second
        )
    }
}

/// Publishes every record; the client batches them. Returns once each publish has
/// been confirmed or has failed.
pub async fn publish(
    records: Vec<Record>,
    source: &str,
    topic: &str,
    endpoint: &Endpoint,
    limit: Duration,
    progress: bool,
) -> anyhow::Result<TopicSummary> {
    pipeline_pubsub::setup::split_name(topic, "topics")?;
    let publisher = pipeline_pubsub::connect::publisher(endpoint, topic, limit).await?;
    let bar = if progress {
        ProgressBar::new(records.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {pos}/{len} {per_sec} eta {eta} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );

    let started = Instant::now();
    let sent = records.len() as u64;
    let mut pending: FuturesUnordered<_> = records
        .into_iter()
        .map(|record| {
            let number = record.number.to_string();
            let message = Message::new()
                .set_data(record.data)
                .set_attributes([("source", source), ("record", number.as_str())]);
            let future = publisher.publish(message);
            async move { (record.number, future.await) }
        })
        .collect();

    let (mut published, mut failed) = (0u64, 0u64);
    while let Some((number, result)) = pending.next().await {
        match result {
            Ok(_) => published += 1,
            Err(err) => {
                failed += 1;
                bar.suspend(|| tracing::warn!(record = number, error = %err, "publish failed"));
            }
        }
        bar.inc(1);
    }
    bar.finish_and_clear();
    let seconds = started.elapsed().as_secs_f64();
    Ok(TopicSummary {
        sent,
        published,
        failed,
        seconds,
        messages_per_second: if seconds > 0.0 {
            sent as f64 / seconds
        } else {
            0.0
        },
    })
}

/// Prints the summary as `pipeline publish` does, and fails if anything failed.
pub fn report(summary: &TopicSummary, json: bool) -> anyhow::Result<()> {
    if json {
        println!(
            "{}",
            serde_json::to_string(summary).context("failed to encode the summary")?
        );
    } else {
        println!("{summary}");
    }
    anyhow::ensure!(
        summary.failed == 0,
        "{} messages were not published",
        summary.failed
    );
    Ok(())
}
