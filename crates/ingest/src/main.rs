use anyhow::Context;
use clap::Parser;
use ingest::config::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    pipeline_service::telemetry::init(cli.log_format);

    let schema = cli.store.load_schema()?;
    let store = cli.store.open_store(schema.clone())?;
    // Push authentication defaults to on: `off` must be asked for.
    let options = cli
        .ingest
        .options_with_auth(ingest::auth::PushAuthMode::Oidc)?;
    let mut options = options;
    options.batch.max_concurrent_writes = cli.store.max_concurrent_writes();
    let ingest = ingest::build(schema, store, options);

    ingest::pull::check_args(&cli.ingest.pull)?;
    let addr = cli.listen.addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr}"))?;
    tracing::info!(%addr, "ingest listening");

    let ingest::Ingest {
        router,
        writer,
        state,
    } = ingest;
    let shutdown = pipeline_service::shutdown::signal();
    ingest::pull::serve_with_pull(&cli.ingest.pull, state, shutdown, |stop| async move {
        pipeline_service::serve::serve(listener, router, stop)
            .await
            .context("server failed")
    })
    .await?;

    // The server has answered or dropped every request; let queued batches finish.
    if tokio::time::timeout(ingest::DRAIN_TIMEOUT, writer)
        .await
        .is_err()
    {
        tracing::warn!("batch writer did not drain in time");
    }
    tracing::info!("ingest stopped");
    // Export the spans still queued; nothing flushes them after the process ends.
    pipeline_service::telemetry::shutdown();
    Ok(())
}
