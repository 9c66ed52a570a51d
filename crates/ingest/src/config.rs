//! The ingest binary's settings.

use clap::{Parser, ValueEnum};
use pipeline_core::validate::{UnknownFields, ValidateOptions};
use pipeline_service::config::{ListenArgs, StoreArgs};
use pipeline_service::telemetry::LogFormat;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum UnknownFieldsArg {
    Reject,
    Drop,
}

#[derive(Debug, Clone, clap::Args)]
pub struct IngestArgs {
    /// What to do with message keys the table does not define: `reject` dead-letters
    /// the message; `drop` stores the rest and counts the drop.
    #[arg(
        long,
        env = "PIPELINE_UNKNOWN_FIELDS",
        value_enum,
        default_value_t = UnknownFieldsArg::Reject
    )]
    pub unknown_fields: UnknownFieldsArg,

    /// Deepest JSON nesting accepted in message data.
    #[arg(long, env = "PIPELINE_MAX_JSON_DEPTH", default_value_t = 64)]
    pub max_json_depth: usize,

    /// Most messages written in one batch.
    #[arg(long, env = "PIPELINE_BATCH_MAX_ROWS", default_value_t = 1000)]
    pub batch_max_rows: usize,

    #[command(flatten)]
    pub pull: crate::pull::PullArgs,

    #[command(flatten)]
    pub push_auth: crate::auth::PushAuthArgs,

    /// Push requests handled at once; more are answered 503 with `Retry-After`.
    #[arg(long, env = "PIPELINE_PUSH_MAX_IN_FLIGHT", default_value_t = 512)]
    pub push_max_in_flight: usize,

    /// Deadline for one push request, body included; below Pub/Sub's 10 s default ack
    /// deadline so a slow request is answered 503 before Pub/Sub gives up on it.
    #[arg(long, env = "PIPELINE_PUSH_TIMEOUT_MS", default_value_t = 8000)]
    pub push_timeout_ms: u64,
}

impl IngestArgs {
    pub fn options(&self) -> crate::IngestOptions {
        let unknown_fields = match self.unknown_fields {
            UnknownFieldsArg::Reject => UnknownFields::Reject,
            UnknownFieldsArg::Drop => UnknownFields::Drop,
        };
        let mut options = crate::IngestOptions {
            validate: ValidateOptions {
                unknown_fields,
                max_depth: self.max_json_depth,
            },
            ..Default::default()
        };
        options.batch.max_rows = self.batch_max_rows.max(1);
        options.max_in_flight = self.push_max_in_flight;
        options.timeout = std::time::Duration::from_millis(self.push_timeout_ms);
        options
    }

    /// [`Self::options`] with push authentication resolved; `default` applies when
    /// `PIPELINE_PUSH_AUTH` is not given (`oidc` for the `ingest` binary, `off` for
    /// `pipeline up`).
    pub fn options_with_auth(
        &self,
        default: crate::auth::PushAuthMode,
    ) -> anyhow::Result<crate::IngestOptions> {
        let mut options = self.options();
        options.push_auth = self.push_auth.access(default)?;
        Ok(options)
    }
}

/// `ingest`: the push endpoint as its own process (what the container runs).
#[derive(Debug, Parser)]
#[command(version, about)]
pub struct Cli {
    #[command(flatten)]
    pub listen: ListenArgs,
    #[command(flatten)]
    pub store: StoreArgs,
    #[command(flatten)]
    pub ingest: IngestArgs,
    #[arg(long, env = "PIPELINE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Auto)]
    pub log_format: LogFormat,
}
