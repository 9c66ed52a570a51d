//! Streaming pull that acknowledges a message only when the caller says it is durable.
//!
//! Each message is handed to `process` on its own task; `process` answers `true`
//! (stored, duplicate or dead-lettered: acknowledge) or `false` (nack: Pub/Sub delivers
//! it again after the subscription's backoff). A message whose task never answers,
//! because the process died, is redelivered when its lease lapses: nothing is
//! acknowledged early.

use std::future::Future;
use std::time::Duration;

use anyhow::Context;
use google_cloud_pubsub::client::Subscriber;
use google_cloud_pubsub::subscriber::{MessageStream, ShutdownBehavior};
use pipeline_core::push::Message;
use tokio::task::JoinSet;

use crate::pulled::to_message;

#[derive(Debug, Clone, Copy)]
pub struct PullOptions {
    /// Messages held (being processed or waiting) at once; Pub/Sub stops sending more.
    pub max_outstanding_messages: i64,
    /// How long shutdown waits for messages being processed before giving up on them
    /// (they are then redelivered when their leases lapse).
    pub drain_timeout: Duration,
    /// How far each lease extension reaches. After a crash, the messages the process
    /// held come back this long after their last extension: the client's default of
    /// 60 s was measured to stall recovery for a minute per wave of held messages.
    pub lease_extension: Duration,
}

impl Default for PullOptions {
    fn default() -> Self {
        PullOptions {
            max_outstanding_messages: 2_000,
            drain_timeout: Duration::from_secs(8),
            lease_extension: Duration::from_secs(10),
        }
    }
}

/// Reconnect waits after a stream failure that follows a working start.
const RECONNECT_MIN: Duration = Duration::from_millis(500);
const RECONNECT_MAX: Duration = Duration::from_secs(30);

/// Pulls from `subscription` until `shutdown` resolves, then drains.
///
/// A stream that fails before its first message fails the call (a wrong subscription
/// name should stop the process, not spin); a failure after that reconnects with
/// backoff.
pub async fn run<F, Fut>(
    subscriber: Subscriber,
    subscription: String,
    options: PullOptions,
    process: F,
    shutdown: impl Future<Output = ()>,
) -> anyhow::Result<()>
where
    F: Fn(Message) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = bool> + Send + 'static,
{
    tokio::pin!(shutdown);
    let mut tasks = JoinSet::new();
    let mut received_any = false;
    let mut wait = RECONNECT_MIN;

    'connect: loop {
        let mut stream = subscriber
            .subscribe(subscription.clone())
            .set_max_outstanding_messages(options.max_outstanding_messages)
            .set_max_lease_extension(options.lease_extension)
            .set_shutdown_behavior(ShutdownBehavior::WaitForProcessing)
            .build();
        tracing::info!(%subscription, "pulling");
        loop {
            let next = tokio::select! {
                () = &mut shutdown => {
                    drain(stream, &mut tasks, options.drain_timeout).await;
                    return Ok(());
                }
                next = stream.next() => next,
            };
            match next {
                Some(Ok((pulled, handler))) => {
                    received_any = true;
                    wait = RECONNECT_MIN;
                    let attempt = handler.delivery_attempt();
                    let process = process.clone();
                    let subscription = subscription.clone();
                    tasks.spawn(async move {
                        let id = pulled.message_id.clone();
                        match to_message(pulled, attempt, &subscription) {
                            Ok(message) => {
                                if process(message).await {
                                    handler.ack();
                                } else {
                                    handler.nack();
                                }
                            }
                            Err(err) => {
                                // Pub/Sub always sets these; nack so the dead-letter
                                // policy, not this process, decides its fate.
                                tracing::error!(
                                    message_id = %id,
                                    error = %err,
                                    "unreadable pulled message"
                                );
                                handler.nack();
                            }
                        }
                    });
                    while tasks.try_join_next().is_some() {}
                    continue;
                }
                Some(Err(err)) if !received_any => {
                    return Err(err).with_context(|| format!("failed to pull from {subscription}"));
                }
                Some(Err(err)) => {
                    tracing::warn!(
                        %subscription,
                        error = %err,
                        retry_in = ?wait,
                        "pull stream failed; reconnecting"
                    );
                }
                None => {
                    tracing::warn!(
                        %subscription,
                        retry_in = ?wait,
                        "pull stream ended; reconnecting"
                    );
                }
            }
            // Only a failed or ended stream reaches here: wait, then reconnect.
            tokio::select! {
                () = &mut shutdown => {
                    drain(stream, &mut tasks, options.drain_timeout).await;
                    return Ok(());
                }
                () = tokio::time::sleep(wait) => {}
            }
            wait = (wait * 2).min(RECONNECT_MAX);
            continue 'connect;
        }
    }
}

/// Stops reading, lets in-flight messages finish (each acks or nacks itself), then
/// flushes the acknowledgements.
async fn drain(stream: MessageStream, tasks: &mut JoinSet<()>, limit: Duration) {
    let token = stream.shutdown_token();
    let flushed = tokio::spawn(async move { token.shutdown().await });
    let in_flight = tasks.len();
    let finished =
        tokio::time::timeout(limit, async { while tasks.join_next().await.is_some() {} }).await;
    if finished.is_err() {
        tracing::warn!(
            in_flight,
            "pulled messages still processing at shutdown; they will be redelivered"
        );
        tasks.abort_all();
    }
    if tokio::time::timeout(Duration::from_secs(2), flushed)
        .await
        .is_err()
    {
        tracing::warn!("acknowledgements not confirmed flushed at shutdown");
    }
    drop(stream);
}
