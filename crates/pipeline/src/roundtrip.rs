//! `pipeline roundtrip`: publish one marked message and read it back through `/data`.
//!
//! The deploy workflow runs it against each new data-api revision before traffic
//! moves; it runs as well by hand against any URL. The message fits `example_table`:
//! `{"id": <unique int64>, "name": "roundtrip-<uuid>"}`.

use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use pipeline_pubsub::Endpoint;
use pipeline_pubsub::client::model::Message;

#[derive(Debug, Clone, clap::Args)]
pub struct RoundtripArgs {
    /// `projects/P/topics/T`.
    #[arg(long)]
    pub topic: String,
    /// The data-api base URL (`/data` is appended).
    #[arg(long)]
    pub data_url: String,
    /// Pub/Sub endpoint, e.g. an emulator at `http://127.0.0.1:8085`
    /// [default: Google's service].
    #[arg(long, env = "PIPELINE_PUBSUB_ENDPOINT")]
    pub pubsub_endpoint: Option<String>,
    /// Give up when the row is not visible after this long.
    #[arg(long, default_value_t = 60)]
    pub timeout_secs: u64,
    /// Fail when the median `/data` answer, once the row is visible, is slower.
    #[arg(long, default_value_t = 500)]
    pub max_latency_ms: u64,
    /// Mint an ID token for this audience (Application Default Credentials) and send
    /// it as `Authorization: Bearer`.
    #[arg(long, conflicts_with = "id_token")]
    pub id_token_audience: Option<String>,
    /// An ID token to send as `Authorization: Bearer` (the deploy workflow mints one).
    #[arg(long, env = "PIPELINE_DATA_API_ID_TOKEN", hide_env_values = true)]
    pub id_token: Option<String>,
}

/// Queries timed once the row is visible; the median is checked.
const LATENCY_SAMPLES: usize = 5;
const POLL_EVERY: Duration = Duration::from_millis(200);

pub async fn run(args: RoundtripArgs) -> anyhow::Result<()> {
    let token = match (&args.id_token_audience, &args.id_token) {
        (Some(audience), _) => Some(mint_id_token(audience).await?),
        (None, Some(token)) => Some(token.clone()),
        (None, None) => None,
    };
    let marker = format!("roundtrip-{}", uuid::Uuid::new_v4());
    // Microseconds since the epoch: unique per run and a valid INT64.
    let id = chrono::Utc::now().timestamp_micros();
    let data = serde_json::json!({ "id": id, "name": marker }).to_string();

    let endpoint = Endpoint::new(args.pubsub_endpoint.clone());
    let limit = Duration::from_secs(args.timeout_secs);
    let publisher = pipeline_pubsub::connect::publisher(&endpoint, &args.topic, limit).await?;
    let started = Instant::now();
    let message_id = publisher
        .publish(
            Message::new()
                .set_data(data)
                .set_attributes([("roundtrip", "true")]),
        )
        .await
        .with_context(|| format!("failed to publish the round-trip message to {}", args.topic))?;
    eprintln!(
        "published {marker} as message {message_id} to {}",
        args.topic
    );

    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()
        .context("failed to build the HTTP client")?;
    let url = format!("{}/data", args.data_url.trim_end_matches('/'));
    let query = [("name", marker.as_str()), ("limit", "1")];
    let get = || {
        let mut request = client.get(&url).query(&query);
        if let Some(token) = &token {
            request = request.bearer_auth(token);
        }
        request
    };

    let deadline = started + Duration::from_secs(args.timeout_secs);
    let visible_after = loop {
        let response = get()
            .send()
            .await
            .with_context(|| format!("GET {url} failed"))?;
        let status = response.status();
        let body = response.text().await.unwrap_or_default();
        if !status.is_success() {
            bail!("GET {url} answered {status}: {body}");
        }
        if found(&body, id)? {
            break started.elapsed();
        }
        if Instant::now() >= deadline {
            bail!(
                "round trip failed: {marker} (message {message_id}) was not visible at {url} \
                 after {} s",
                args.timeout_secs
            );
        }
        tokio::time::sleep(POLL_EVERY).await;
    };

    let mut latencies = Vec::with_capacity(LATENCY_SAMPLES);
    for _ in 0..LATENCY_SAMPLES {
        let t = Instant::now();
        let response = get()
            .send()
            .await
            .with_context(|| format!("GET {url} failed"))?;
        let ok = response.status().is_success();
        let _ = response.bytes().await;
        anyhow::ensure!(ok, "GET {url} failed while timing it");
        latencies.push(t.elapsed());
    }
    latencies.sort();
    let median = latencies[LATENCY_SAMPLES / 2];
    println!(
        "round trip ok: {marker} visible after {} ms; /data median {} ms, max {} ms",
        visible_after.as_millis(),
        median.as_millis(),
        latencies[LATENCY_SAMPLES - 1].as_millis()
    );
    if median > Duration::from_millis(args.max_latency_ms) {
        bail!(
            "round trip too slow: /data median {} ms is above --max-latency-ms {}",
            median.as_millis(),
            args.max_latency_ms
        );
    }
    Ok(())
}

/// Whether the page holds the round-trip row (matched on its unique id as well, so an
/// unrelated row with the same name cannot pass).
fn found(body: &str, id: i64) -> anyhow::Result<bool> {
    let page: serde_json::Value =
        serde_json::from_str(body).with_context(|| format!("/data answered non-JSON: {body}"))?;
    let rows = page["rows"]
        .as_array()
        .context("/data answered without `rows`")?;
    // INT64 is a JSON string on the wire (full precision); accept a number too.
    Ok(rows.iter().any(|row| match &row["id"] {
        serde_json::Value::String(s) => s == &id.to_string(),
        serde_json::Value::Number(n) => n.as_i64() == Some(id),
        _ => false,
    }))
}

async fn mint_id_token(audience: &str) -> anyhow::Result<String> {
    let credentials = google_cloud_auth::credentials::idtoken::Builder::new(audience)
        .build()
        .context("failed to load credentials for an ID token (Application Default Credentials)")?;
    credentials
        .id_token()
        .await
        .with_context(|| format!("failed to mint an ID token for audience {audience}"))
}
