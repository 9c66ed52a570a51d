//! `pipeline-load`: a bounded run of concurrent `/data` clients against a local data
//! API, with a verdict against the SLO (p95 < 500 ms, error rate < 0.1 %).
//!
//! It only targets loopback addresses: it is a local load test, not a tool to aim at
//! a deployed service. The run stops after `--requests` requests or `--max-seconds`,
//! whichever comes first. See docs/benchmarks.md for the command and the figures.

use std::net::IpAddr;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::Parser;
use futures::StreamExt;

#[derive(Parser)]
#[command(about = "Concurrent /data clients on 127.0.0.1 with an SLO verdict")]
struct Args {
    /// The data API's base URL (loopback only).
    #[arg(long, default_value = "http://127.0.0.1:8081")]
    url: String,
    /// Query strings to cycle through (repeat the flag); a dashboard's mix by default.
    #[arg(long = "query")]
    queries: Vec<String>,
    /// Clients in flight at once.
    #[arg(long, default_value_t = 32)]
    concurrency: usize,
    /// Requests in the whole run.
    #[arg(long, default_value_t = 5000)]
    requests: usize,
    /// Upper bound on the run's length.
    #[arg(long, default_value_t = 60)]
    max_seconds: u64,
    /// SLO: 95th percentile latency bound.
    #[arg(long, default_value_t = 500)]
    slo_p95_ms: u64,
    /// SLO: largest share of failed requests.
    #[arg(long, default_value_t = 0.001)]
    slo_error_rate: f64,
}

const DEFAULT_QUERIES: &[&str] = &[
    "limit=100",
    "limit=1000&fields=message_id,scheduled_airline,actual_departure",
    "scheduled_airline=LAN&limit=100",
    "operation_month.gte=6&operation_month.lte=8&limit=200",
    "order=asc&limit=50",
];

fn check_loopback(url: &str) -> anyhow::Result<()> {
    let rest = url
        .strip_prefix("http://")
        .context("--url must be http://127.0.0.1:<port>")?;
    let authority = rest.split('/').next().unwrap_or("");
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .trim_matches(['[', ']']);
    let loopback = host == "localhost" || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback());
    if !loopback {
        bail!("refusing to load {host}: this tool only targets loopback addresses");
    }
    Ok(())
}

struct Sample {
    latency: Duration,
    ok: bool,
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() -> anyhow::Result<ExitCode> {
    let args = Args::parse();
    check_loopback(&args.url)?;
    let queries: Vec<String> = if args.queries.is_empty() {
        DEFAULT_QUERIES.iter().map(|q| (*q).to_owned()).collect()
    } else {
        args.queries.clone()
    };
    let runtime = tokio::runtime::Runtime::new().context("failed to start the runtime")?;
    let (samples, elapsed) = runtime.block_on(run(&args, &queries))?;

    let total = samples.len();
    let errors = samples.iter().filter(|s| !s.ok).count();
    let mut latencies: Vec<Duration> = samples.iter().map(|s| s.latency).collect();
    latencies.sort();
    let p95 = percentile(&latencies, 95.0);
    let error_rate = errors as f64 / total.max(1) as f64;
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "requests {total} | errors {errors} ({:.3} %) | p50 {:.1} ms | p95 {:.1} ms | \
         p99 {:.1} ms | max {:.1} ms | ~{:.0} req/s",
        error_rate * 100.0,
        ms(percentile(&latencies, 50.0)),
        ms(p95),
        ms(percentile(&latencies, 99.0)),
        ms(latencies.last().copied().unwrap_or_default()),
        total as f64 / elapsed.as_secs_f64().max(1e-9),
    );
    let pass = total > 0
        && p95 < Duration::from_millis(args.slo_p95_ms)
        && error_rate < args.slo_error_rate;
    println!(
        "SLO (p95 < {} ms, errors < {} %): {}",
        args.slo_p95_ms,
        args.slo_error_rate * 100.0,
        if pass { "PASS" } else { "FAIL" }
    );
    Ok(if pass {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// Runs the requests; returns each one's sample and the run's wall-clock time.
async fn run(args: &Args, queries: &[String]) -> anyhow::Result<(Vec<Sample>, Duration)> {
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(args.concurrency)
        .build()
        .context("failed to build the HTTP client")?;
    let base = Arc::new(args.url.trim_end_matches('/').to_owned());
    let run_started = Instant::now();
    let deadline = run_started + Duration::from_secs(args.max_seconds);
    let samples = futures::stream::iter(0..args.requests)
        .take_while(|_| std::future::ready(Instant::now() < deadline))
        .map(|i| {
            let url = format!("{base}/data?{}", queries[i % queries.len()]);
            let client = client.clone();
            async move {
                let started = Instant::now();
                let ok = match client.get(url).send().await {
                    // Read the whole body: the client's latency includes it.
                    Ok(response) => {
                        let status = response.status();
                        response.bytes().await.is_ok() && status.is_success()
                    }
                    Err(_) => false,
                };
                Sample {
                    latency: started.elapsed(),
                    ok,
                }
            }
        })
        .buffer_unordered(args.concurrency.max(1))
        .collect()
        .await;
    Ok((samples, run_started.elapsed()))
}
