//! The data-api binary's settings.

use clap::Parser;
use pipeline_core::query::QueryLimits;
use pipeline_service::config::{ListenArgs, StoreArgs};
use pipeline_service::telemetry::LogFormat;

#[derive(Debug, Clone, clap::Args)]
pub struct ApiArgs {
    /// Rows per page when `limit` is not given.
    #[arg(long, env = "PIPELINE_DEFAULT_LIMIT", default_value_t = 100)]
    pub default_limit: usize,

    /// Largest `limit` accepted; a larger one is answered 400.
    #[arg(long, env = "PIPELINE_MAX_LIMIT", default_value_t = 1000)]
    pub max_limit: usize,

    /// Most filters in one query.
    #[arg(long, env = "PIPELINE_MAX_FILTERS", default_value_t = 20)]
    pub max_filters: usize,

    /// How long an identical query is answered from memory; 0 turns the cache off.
    #[arg(long, env = "PIPELINE_CACHE_TTL_MS", default_value_t = 2000)]
    pub cache_ttl_ms: u64,

    /// Memory the cache may use for keys and encoded pages.
    #[arg(long, env = "PIPELINE_CACHE_MAX_BYTES", default_value_t = 64 * 1024 * 1024)]
    pub cache_max_bytes: u64,

    /// `/data` requests handled at once; more are answered 503 with `Retry-After`.
    #[arg(long, env = "PIPELINE_DATA_MAX_IN_FLIGHT", default_value_t = 256)]
    pub data_max_in_flight: usize,

    /// Deadline for one `/data` request.
    #[arg(long, env = "PIPELINE_DATA_TIMEOUT_MS", default_value_t = 5000)]
    pub data_timeout_ms: u64,

    #[command(flatten)]
    pub auth: crate::access::DataAuthArgs,
}

impl ApiArgs {
    /// Everything [`crate::build_with`] takes, checked.
    pub fn options(&self) -> anyhow::Result<crate::ApiOptions> {
        Ok(crate::ApiOptions {
            limits: self.limits()?,
            access: self.auth.access()?,
            cache_ttl: std::time::Duration::from_millis(self.cache_ttl_ms),
            cache_max_bytes: self.cache_max_bytes,
            max_in_flight: self.data_max_in_flight,
            timeout: std::time::Duration::from_millis(self.data_timeout_ms),
        })
    }

    pub fn limits(&self) -> anyhow::Result<QueryLimits> {
        anyhow::ensure!(self.max_limit >= 1, "--max-limit must be at least 1");
        anyhow::ensure!(
            (1..=self.max_limit).contains(&self.default_limit),
            "--default-limit must be between 1 and --max-limit"
        );
        Ok(QueryLimits {
            default_limit: self.default_limit,
            max_limit: self.max_limit,
            max_filters: self.max_filters,
        })
    }
}

/// `data-api`: the read API as its own process (what the container runs).
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(flatten)]
    pub listen: ListenArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub api: ApiArgs,
    #[arg(long, env = "PIPELINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}
