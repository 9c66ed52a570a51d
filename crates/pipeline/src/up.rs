//! `pipeline up`: ingest and data-api in one process over one embedded store.

use std::net::SocketAddr;

use anyhow::Context;
use pipeline_service::config::StoreArgs;
use tokio::net::TcpListener;

/// The bound addresses, printed at start so scripts (and tests) can find them.
pub struct Bound {
    pub ingest: SocketAddr,
    pub data_api: SocketAddr,
}

pub struct UpOptions {
    pub ingest_addr: SocketAddr,
    pub api_addr: SocketAddr,
    pub store: StoreArgs,
    pub ingest: ingest::config::IngestArgs,
    pub api: data_api::config::ApiArgs,
}

/// Runs both services until `shutdown` resolves, then drains.
pub async fn run(
    options: UpOptions,
    on_bound: impl FnOnce(&Bound),
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> anyhow::Result<()> {
    let schema = options.store.load_schema()?;
    let store = options.store.open_store(schema.clone())?;
    // Locally push authentication is off unless PIPELINE_PUSH_AUTH says otherwise.
    let ingest_options = options
        .ingest
        .options_with_auth(ingest::auth::PushAuthMode::Off)?;
    let mut ingest_options = ingest_options;
    ingest_options.batch.max_concurrent_writes = options.store.max_concurrent_writes();
    let ingest = ingest::build(schema.clone(), store.clone(), ingest_options);
    let api = data_api::build_with(schema, store, options.api.options()?);

    let bind = |addr: SocketAddr| async move {
        TcpListener::bind(addr)
            .await
            .with_context(|| format!("failed to listen on {addr}"))
    };
    // A malformed subscription name fails before READY, not after.
    ingest::pull::check_args(&options.ingest.pull)?;
    let ingest_listener = bind(options.ingest_addr).await?;
    let api_listener = bind(options.api_addr).await?;
    on_bound(&Bound {
        ingest: ingest_listener.local_addr()?,
        data_api: api_listener.local_addr()?,
    });

    // One signal stops both servers.
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let signal = stop_tx.clone();
    tokio::spawn(async move {
        shutdown.await;
        let _ = signal.send(true);
    });
    let stopped = |mut rx: tokio::sync::watch::Receiver<bool>| async move {
        let _ = rx.wait_for(|stop| *stop).await;
    };

    let serve = pipeline_service::serve::serve;
    let ingest::Ingest {
        router,
        writer,
        state,
    } = ingest;
    // Pull mode (when configured) runs beside the push endpoint and stops with it.
    let pull_args = options.ingest.pull.clone();
    let ingest_stop = stopped(stop_rx.clone());
    let ingest_server = async {
        let result =
            ingest::pull::serve_with_pull(&pull_args, state, ingest_stop, |stop| async move {
                pipeline_service::serve::serve(ingest_listener, router, stop)
                    .await
                    .context("ingest server failed")
            })
            .await;
        // Ingest ending (a failed pull, say) ends the data API too: a process serving
        // /data alone would look healthy while consuming nothing.
        let _ = stop_tx.send(true);
        result
    };
    let api_server = serve(api_listener, api, stopped(stop_rx));
    let (a, b) = tokio::join!(ingest_server, api_server);
    a?;
    b.context("data-api server failed")?;

    if tokio::time::timeout(ingest::DRAIN_TIMEOUT, writer)
        .await
        .is_err()
    {
        tracing::warn!("batch writer did not drain in time");
    }
    tracing::info!("stopped");
    Ok(())
}
