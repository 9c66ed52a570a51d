use anyhow::Context;
use clap::Parser;
use data_api::config::Cli;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    pipeline_service::telemetry::init(cli.log_format);

    let schema = cli.store.load_schema()?;
    let store = cli.store.open_store(schema.clone())?;
    let router = data_api::build_with(schema, store, cli.api.options()?);

    let addr = cli.listen.addr();
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("failed to listen on {addr}"))?;
    tracing::info!(%addr, "data-api listening");

    pipeline_service::serve::serve(listener, router, pipeline_service::shutdown::signal())
        .await
        .context("server failed")?;
    tracing::info!("data-api stopped");
    // Export the spans still queued; nothing flushes them after the process ends.
    pipeline_service::telemetry::shutdown();
    Ok(())
}
