//! Pull mode: consume a subscription by streaming pull, for hosts that Pub/Sub push
//! cannot reach. Messages take the same path as pushed ones ([`crate::process`]) and
//! are acknowledged only when stored, duplicate or dead-lettered.

use std::future::Future;

use anyhow::Context;
use pipeline_pubsub::Endpoint;
use pipeline_pubsub::pull::PullOptions;
use pipeline_service::telemetry::message_trace;
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::IngestState;

#[derive(Debug, Clone, Default, clap::Args)]
pub struct PullArgs {
    /// Also consume this subscription by streaming pull
    /// (`projects/P/subscriptions/S`); the push endpoint keeps serving.
    #[arg(long, env = "PIPELINE_PULL_SUBSCRIPTION")]
    pub pull_subscription: Option<String>,

    /// Pub/Sub endpoint, e.g. an emulator at `http://127.0.0.1:8085`
    /// [default: Google's service with Application Default Credentials].
    #[arg(long, env = "PIPELINE_PUBSUB_ENDPOINT")]
    pub pubsub_endpoint: Option<String>,
}

/// Checks what can be checked without a connection: the subscription's name.
pub fn check_args(args: &PullArgs) -> anyhow::Result<()> {
    if let Some(subscription) = &args.pull_subscription {
        pipeline_pubsub::setup::split_name(subscription, "subscriptions")
            .context("--pull-subscription is not valid")?;
    }
    Ok(())
}

/// Starts pulling when a subscription is configured. The task ends after `shutdown`
/// resolves and every message in flight was answered, or with an error when the
/// subscription cannot be read at all.
pub async fn start(
    args: &PullArgs,
    state: IngestState,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> anyhow::Result<Option<JoinHandle<anyhow::Result<()>>>> {
    let Some(subscription) = args.pull_subscription.clone() else {
        return Ok(None);
    };
    check_args(args)?;
    let endpoint = Endpoint::new(args.pubsub_endpoint.clone());
    let subscriber = pipeline_pubsub::connect::subscriber(&endpoint)
        .await
        .context("failed to start pull mode")?;

    let process = move |message: pipeline_core::push::Message| {
        let state = state.clone();
        // In the publisher's trace when the message carries one (googclient_traceparent).
        let span = message_trace::message_span(&message.attributes);
        async move {
            let outcome = crate::process::process(&state, message).await;
            outcome.acknowledged()
        }
        .instrument(span)
    };
    let options = PullOptions::default();
    Ok(Some(tokio::spawn(pipeline_pubsub::pull::run(
        subscriber,
        subscription,
        options,
        process,
        shutdown,
    ))))
}

/// Runs `serve` (the HTTP server) and, when configured, pull mode beside it, until
/// `shutdown` resolves or pull mode fails; `serve` gets the future to stop on. `state`
/// is dropped before this returns, so the batch writer can then drain.
pub async fn serve_with_pull<F, Fut>(
    args: &PullArgs,
    state: IngestState,
    shutdown: impl Future<Output = ()> + Send + 'static,
    serve: F,
) -> anyhow::Result<()>
where
    F: FnOnce(std::pin::Pin<Box<dyn Future<Output = ()> + Send>>) -> Fut,
    Fut: Future<Output = anyhow::Result<()>>,
{
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };
    let signal_tx = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = signal_tx.send(true);
    });

    let pull = start(args, state, stopped(stop_rx.clone())).await?;
    // A pull loop that fails (say, the subscription does not exist) stops the whole
    // process: running on without it would look healthy while consuming nothing.
    let pull = pull.map(|task| {
        tokio::spawn(async move {
            let result = task.await.context("pull task panicked").and_then(|r| r);
            if let Err(err) = &result {
                tracing::error!(error = format!("{err:#}"), "pull mode failed; stopping");
            }
            let _ = stop_tx.send(true);
            result
        })
    });

    let served = serve(Box::pin(stopped(stop_rx))).await;
    if let Some(pull) = pull {
        pull.await.context("pull task panicked")??;
    }
    served
}
