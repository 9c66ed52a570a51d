//! `pipeline`: run the whole pipeline locally, publish files into it, operate it.

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use anyhow::{Context, bail};
use clap::{Parser, Subcommand, ValueEnum};
use pipeline::csv_source::{self, Mapping};
use pipeline::publish::{self, PublishOptions};
use pipeline::up::{self, UpOptions};
use pipeline_service::config::StoreArgs;
use pipeline_service::telemetry::{self, LogFormat};

#[derive(Parser)]
#[command(
    version,
    about = "Run the airline data pipeline locally and operate it"
)]
struct Cli {
    #[arg(
        long,
        global = true,
        env = "PIPELINE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

// Parsed once at start-up and consumed; the variants' sizes do not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Subcommand)]
enum Command {
    /// Run ingest and data-api in one process on the embedded store.
    Up(UpArgs),
    /// Send a CSV or NDJSON file through the push endpoint, as Pub/Sub would.
    Publish(PublishArgs),
    /// BigQuery operations (`bq create`: tables from the schema files).
    Bq(pipeline::bq::BqArgs),
    /// Pub/Sub operations (`pubsub setup`: topic, subscription, dead-letter path).
    Pubsub(pipeline::pubsub_setup::PubsubArgs),
    /// Publish one marked message and wait until `GET /data` shows it.
    Roundtrip(pipeline::roundtrip::RoundtripArgs),
}

#[derive(clap::Args)]
struct UpArgs {
    /// Address both services bind to.
    #[arg(long, env = "PIPELINE_BIND", default_value_t = IpAddr::V4(Ipv4Addr::LOCALHOST))]
    bind: IpAddr,
    /// Ingest port (0 picks a free one).
    #[arg(long, default_value_t = 8080)]
    ingest_port: u16,
    /// Data API port (0 picks a free one).
    #[arg(long, default_value_t = 8081)]
    api_port: u16,
    #[command(flatten)]
    store: StoreArgs,
    #[command(flatten)]
    ingest: ingest::config::IngestArgs,
    #[command(flatten)]
    api: data_api::config::ApiArgs,
}

#[derive(Clone, Copy, PartialEq, Eq, ValueEnum)]
enum Format {
    Auto,
    Csv,
    Ndjson,
}

#[derive(clap::Args)]
struct PublishArgs {
    /// The file to publish.
    file: PathBuf,
    /// The ingest push endpoint.
    #[arg(long, default_value = "http://127.0.0.1:8080/pubsub/push")]
    url: String,
    /// `csv` or `ndjson`; by default from the file extension.
    #[arg(long, value_enum, default_value_t = Format::Auto)]
    format: Format,
    /// CSV header-to-column mapping (CSV only).
    #[arg(long, default_value = "schemas/flights.csv-mapping.json")]
    mapping: PathBuf,
    /// Requests in flight at once.
    #[arg(long, default_value_t = 64)]
    concurrency: usize,
    /// Message ids are `<prefix>-<record number>` [default: the file name].
    #[arg(long)]
    id_prefix: Option<String>,
    /// Publish only the first N records.
    #[arg(long)]
    limit: Option<usize>,
    /// Tries per message (503s are retried with backoff, as Pub/Sub would).
    #[arg(long, default_value_t = 10)]
    max_attempts: usize,
    /// Print the summary as JSON.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    pubsub: pipeline::topic_publish::TopicArgs,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    telemetry::init(cli.log_format);
    let runtime = tokio::runtime::Runtime::new().context("failed to start the async runtime")?;
    let result = runtime.block_on(async {
        match cli.command {
            Command::Up(args) => run_up(args).await,
            Command::Publish(args) => run_publish(args).await,
            Command::Bq(args) => pipeline::bq::run(args).await,
            Command::Pubsub(args) => pipeline::pubsub_setup::run(args).await,
            Command::Roundtrip(args) => pipeline::roundtrip::run(args).await,
        }
    });
    // Export the spans still queued; nothing flushes them after the process ends.
    telemetry::shutdown();
    result
}

async fn run_up(args: UpArgs) -> anyhow::Result<()> {
    let options = UpOptions {
        ingest_addr: SocketAddr::new(args.bind, args.ingest_port),
        api_addr: SocketAddr::new(args.bind, args.api_port),
        store: args.store.clone(),
        ingest: args.ingest,
        api: args.api,
    };
    let store = args.store;
    up::run(
        options,
        |bound| {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "pipeline is up (Ctrl-C to stop)");
            let _ = writeln!(out, "  push endpoint  http://{}/pubsub/push", bound.ingest);
            let _ = writeln!(out, "  data API       http://{}/data", bound.data_api);
            let _ = writeln!(out, "  schema         {}", store.schema.display());
            let _ = writeln!(
                out,
                "  store          {:?} in {}",
                store.store,
                store.data_dir.display()
            );
            // One machine-readable line for scripts.
            let _ = writeln!(
                out,
                "READY ingest={} data_api={}",
                bound.ingest, bound.data_api
            );
            let _ = out.flush();
        },
        pipeline_service::shutdown::signal(),
    )
    .await
}

async fn run_publish(args: PublishArgs) -> anyhow::Result<()> {
    let format = match args.format {
        Format::Auto => match args.file.extension().and_then(|e| e.to_str()) {
            Some("csv") => Format::Csv,
            Some("ndjson" | "jsonl" | "json") => Format::Ndjson,
            _ => bail!(
                "cannot tell the format of {}; pass --format",
                args.file.display()
            ),
        },
        other => other,
    };
    let mut records = match format {
        Format::Csv => {
            let (mapping, schema) = Mapping::load(&args.mapping)?;
            csv_source::read_csv(&args.file, &mapping, &schema)?
        }
        _ => csv_source::read_ndjson(&args.file)?,
    };
    if let Some(limit) = args.limit {
        records.truncate(limit);
    }

    let name = args
        .file
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("input")
        .to_owned();
    let stem = args
        .file
        .file_stem()
        .and_then(|n| n.to_str())
        .unwrap_or("input")
        .to_owned();
    if let Some(topic) = &args.pubsub.topic {
        let endpoint = pipeline_pubsub::Endpoint::new(args.pubsub.pubsub_endpoint.clone());
        let progress = !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr());
        let limit = std::time::Duration::from_secs(args.pubsub.publish_timeout_secs);
        let summary =
            pipeline::topic_publish::publish(records, &name, topic, &endpoint, limit, progress)
                .await?;
        return pipeline::topic_publish::report(&summary, args.json);
    }
    let options = PublishOptions {
        url: args.url,
        concurrency: args.concurrency,
        id_prefix: args.id_prefix.unwrap_or(stem),
        max_attempts: args.max_attempts.max(1),
        progress: !args.json && std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let summary = publish::publish(records, &name, &options).await?;

    if args.json {
        println!("{}", serde_json::to_string(&summary)?);
    } else {
        println!("{summary}");
    }
    if summary.counts.failed > 0 {
        bail!("{} messages were not delivered", summary.counts.failed);
    }
    Ok(())
}
