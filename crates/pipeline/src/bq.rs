//! `pipeline bq create`: the dataset, table and dead-letter table from the schema
//! files, for emulators and first runs. In the cloud Terraform owns them.

use anyhow::Context;
use pipeline_service::config::StoreArgs;

#[derive(clap::Args)]
pub struct BqArgs {
    #[command(subcommand)]
    pub command: BqCommand,
}

#[derive(clap::Subcommand)]
pub enum BqCommand {
    /// Create the dataset and tables if they are missing (existing ones are kept).
    Create {
        #[command(flatten)]
        store: StoreArgs,
    },
}

pub async fn run(args: BqArgs) -> anyhow::Result<()> {
    match args.command {
        BqCommand::Create { store } => {
            let schema = store.load_schema()?;
            let config = store
                .bigquery
                .config(store.bq_project.as_deref(), &store.bq_dataset)?;
            let created = pipeline_store_bigquery::create_tables(&config, &schema)
                .await
                .context("failed to create the BigQuery dataset and tables")?;
            if created.is_empty() {
                println!("nothing to create: {} and its tables exist", config.dataset);
            }
            for name in created {
                println!("created {name}");
            }
            Ok(())
        }
    }
}
