//! `pipeline-bench`: the figures in docs/benchmarks.md.
//!
//! Every server under test runs as its own process (the release `pipeline` binary, or
//! this binary's `hello` server) and the load generator runs here, on the same machine,
//! over 127.0.0.1. Each run is bounded by a request count.

mod load;
mod procs;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use clap::{Parser, Subcommand};

use crate::load::{Load, Report};
use crate::procs::{Server, free_port};

#[derive(Parser)]
#[command(about = "Benchmarks for the pipeline")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// An axum hello-world POST endpoint: the ceiling ingest is compared against.
    Hello {
        #[arg(long)]
        port: u16,
    },
    /// Push throughput and ack latency into SQLite, next to the hello-world ceiling.
    Ingest {
        #[arg(long, default_value = "target/release/pipeline")]
        pipeline: PathBuf,
        #[arg(long, default_value_t = 200_000)]
        messages: usize,
        #[arg(long, default_value_t = 64)]
        concurrency: usize,
    },
    /// The flights file end to end: `pipeline publish` into a fresh `pipeline up`.
    Flights {
        #[arg(long, default_value = "target/release/pipeline")]
        pipeline: PathBuf,
        #[arg(
            long,
            env = "FLIGHTS_CSV",
            default_value = "../shared/data/flights_scl_2017.csv"
        )]
        csv: PathBuf,
    },
    /// `GET /data` latency on a table of `rows` rows.
    Data {
        #[arg(long, default_value = "target/release/pipeline")]
        pipeline: PathBuf,
        #[arg(long, default_value_t = 1_000_000)]
        rows: usize,
        #[arg(long, default_value_t = 64)]
        connections: usize,
        #[arg(long, default_value_t = 20_000)]
        requests: usize,
    },
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let runtime = tokio::runtime::Runtime::new().context("failed to start the runtime")?;
    runtime.block_on(async {
        match cli.command {
            Command::Hello { port } => hello(port).await,
            Command::Flights { pipeline, csv } => flights(&pipeline, &csv),
            Command::Ingest {
                pipeline,
                messages,
                concurrency,
            } => ingest(&pipeline, messages, concurrency).await,
            Command::Data {
                pipeline,
                rows,
                connections,
                requests,
            } => data(&pipeline, rows, connections, requests).await,
        }
    })
}

async fn hello(port: u16) -> anyhow::Result<()> {
    use axum::routing::post;
    let app = axum::Router::new().route(
        "/",
        post(|_body: axum::body::Bytes| async { axum::http::StatusCode::NO_CONTENT }),
    );
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    println!("READY");
    axum::serve(listener, app).await?;
    Ok(())
}

/// Push bodies with unique message ids, built before the clock starts.
fn push_bodies(n: usize, run: &str) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let data = serde_json::json!({"id": i, "name": format!("bench {i}")}).to_string();
            let id = format!("{run}-{i}");
            let envelope = serde_json::json!({
                "message": {
                    "data": base64::Engine::encode(
                        &base64::engine::general_purpose::STANDARD, data),
                    "messageId": id,
                    "publishTime": "2026-12-04T10:00:00.000000Z",
                    "attributes": {"source": "bench"},
                },
                "subscription": "projects/bench/subscriptions/bench",
            });
            serde_json::to_vec(&envelope).unwrap_or_default()
        })
        .collect()
}

async fn ingest(
    pipeline: &std::path::Path,
    messages: usize,
    concurrency: usize,
) -> anyhow::Result<()> {
    let bodies = Arc::new(push_bodies(messages, "bench"));
    let me = std::env::current_exe()?;

    let port = free_port()?;
    let hello = Server::spawn(&me, &["hello", "--port", &port.to_string()], "READY")?;
    let url = format!("http://127.0.0.1:{port}/");
    let ceiling = Load::post(&url, Arc::clone(&bodies), concurrency)
        .run(messages)
        .await?;
    drop(hello);

    let dir = tempdir()?;
    let (ingest_port, api_port) = (free_port()?, free_port()?);
    let up = procs::pipeline_up(
        pipeline,
        &dir,
        "schemas/example_table.json",
        ingest_port,
        api_port,
    )?;
    let idle_rss = up.rss_kib();
    let sampler = up.rss_sampler();
    let url = format!("http://127.0.0.1:{ingest_port}/pubsub/push");
    let result = Load::post(&url, bodies, concurrency).run(messages).await?;
    let peak_rss = sampler.stop();

    println!(
        "| server | requests | concurrency | req/s | p50 ms | p90 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    println!("{}", ceiling.row("axum hello-world POST"));
    println!(
        "{}",
        result.row("ingest -> SQLite (push, 204 after commit)")
    );
    println!();
    println!(
        "ingest reaches {:.0}% of the hello-world ceiling; \
         RSS idle {:.1} MiB, peak under load {:.1} MiB",
        100.0 * result.rate() / ceiling.rate(),
        idle_rss as f64 / 1024.0,
        peak_rss as f64 / 1024.0
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

async fn data(
    pipeline: &std::path::Path,
    rows: usize,
    connections: usize,
    requests: usize,
) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let seeded = Instant::now();
    procs::seed_sqlite(&dir, rows).await?;
    eprintln!(
        "seeded {rows} rows in {:.1} s",
        seeded.elapsed().as_secs_f64()
    );

    let (ingest_port, api_port) = (free_port()?, free_port()?);
    let up = procs::pipeline_up(
        pipeline,
        &dir,
        "schemas/example_table.json",
        ingest_port,
        api_port,
    )?;
    let base = format!("http://127.0.0.1:{api_port}/data");
    let idle_rss = up.rss_kib();

    // A token deep in the table, for the "later page" case.
    let client = reqwest::Client::new();
    let first: serde_json::Value = client
        .get(format!("{base}?limit=1000&order=asc"))
        .send()
        .await?
        .json()
        .await?;
    let token = first["next_page_token"]
        .as_str()
        .unwrap_or_default()
        .to_owned();

    // `id` has no index: a range that matches the newest rows is found at once; one
    // that matches only the oldest tenth makes every request scan most of the table.
    let newest = rows * 9 / 10;
    let oldest = rows / 10;
    let cases = [
        ("first page, 100 rows (default query)", base.clone()),
        (
            "a later page (page_token), 100 rows",
            format!("{base}?order=asc&page_token={token}"),
        ),
        (
            "message_id equality (unique index)",
            format!("{base}?message_id=seed-00000042"),
        ),
        (
            "id range, matching the newest rows",
            format!("{base}?id.gte={newest}"),
        ),
        (
            "1000 rows, two columns",
            format!("{base}?limit=1000&fields=message_id,id"),
        ),
        (
            "id range, matching only the oldest tenth",
            format!("{base}?id.lt={oldest}"),
        ),
    ];
    let sampler = up.rss_sampler();
    println!(
        "| query ({rows} rows, {connections} connections) | requests | req/s \
         | p50 ms | p90 ms | p99 ms | max ms | errors |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    for (name, url) in cases {
        let report: Report = Load::get(&url, connections).run(requests).await?;
        println!("{}", report.row_without_concurrency(name));
    }
    let peak = sampler.stop();
    println!();
    println!(
        "data-api RSS idle {:.1} MiB, peak under load {:.1} MiB",
        idle_rss as f64 / 1024.0,
        peak as f64 / 1024.0
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn flights(pipeline: &std::path::Path, csv: &std::path::Path) -> anyhow::Result<()> {
    let dir = tempdir()?;
    let (ingest_port, api_port) = (free_port()?, free_port()?);
    let up = procs::pipeline_up(
        pipeline,
        &dir,
        "schemas/flights.json",
        ingest_port,
        api_port,
    )?;
    let sampler = up.rss_sampler();
    let started = Instant::now();
    let output = std::process::Command::new(pipeline)
        .arg("publish")
        .arg(csv)
        .args([
            "--json",
            "--url",
            &format!("http://127.0.0.1:{ingest_port}/pubsub/push"),
        ])
        .output()
        .context("failed to run pipeline publish")?;
    let seconds = started.elapsed().as_secs_f64();
    let peak = sampler.stop();
    anyhow::ensure!(output.status.success(), "publish failed: {output:?}");
    let summary: serde_json::Value = serde_json::from_slice(&output.stdout)?;
    println!(
        "| file | sent | stored | dead-lettered | wall s (process start to last ack) \
         | msg/s | peak RSS MiB |"
    );
    println!("|---|---|---|---|---|---|---|");
    println!(
        "| {} | {} | {} | {} | {seconds:.2} | {:.0} | {:.1} |",
        csv.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
        summary["sent"],
        summary["stored"],
        summary["dead_lettered"],
        summary["sent"].as_f64().unwrap_or(0.0) / seconds,
        peak as f64 / 1024.0
    );
    std::fs::remove_dir_all(&dir).ok();
    Ok(())
}

fn tempdir() -> anyhow::Result<PathBuf> {
    let dir = std::env::temp_dir().join(format!("pipeline-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}
