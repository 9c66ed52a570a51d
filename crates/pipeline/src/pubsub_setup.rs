//! `pipeline pubsub ...`: Pub/Sub operations.

use std::path::PathBuf;

use pipeline_pubsub::setup::{self, Plan};
use pipeline_pubsub::{Endpoint, Settings};

#[derive(clap::Args)]
pub struct PubsubArgs {
    #[command(subcommand)]
    pub command: PubsubCommand,
}

#[derive(clap::Subcommand)]
pub enum PubsubCommand {
    /// Create the topic, its subscription, the dead-letter topic and the dead-letter
    /// pull subscription, with delivery settings from the settings file. Idempotent.
    Setup(SetupArgs),
}

#[derive(clap::Args)]
pub struct SetupArgs {
    /// `projects/P/topics/T`.
    #[arg(long)]
    pub topic: String,
    /// `projects/P/subscriptions/S`.
    #[arg(long)]
    pub subscription: String,
    /// Push to this URL (`http://HOST:PORT/pubsub/push`, wrapped); without it the
    /// subscription is a pull subscription (for `--pull-subscription`).
    #[arg(long)]
    pub push_endpoint: Option<String>,
    /// Delivery settings, shared with Terraform.
    #[arg(long, default_value = pipeline_pubsub::settings::DEFAULT_PATH)]
    pub settings: PathBuf,
    /// Pub/Sub endpoint, e.g. an emulator at `http://127.0.0.1:8085`
    /// [default: Google's service].
    #[arg(long, env = "PIPELINE_PUBSUB_ENDPOINT")]
    pub pubsub_endpoint: Option<String>,
}

pub async fn run(args: PubsubArgs) -> anyhow::Result<()> {
    match args.command {
        PubsubCommand::Setup(args) => {
            let settings = Settings::load(&args.settings)?;
            let plan = Plan::new(&args.topic, &args.subscription, args.push_endpoint)?;
            let endpoint = Endpoint::new(args.pubsub_endpoint);
            let report = setup::run(&endpoint, &plan, &settings).await?;
            for line in report.lines {
                println!("{line}");
            }
            Ok(())
        }
    }
}
