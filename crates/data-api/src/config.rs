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
}

impl ApiArgs {
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
