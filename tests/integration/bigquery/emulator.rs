//! The BigQuery emulator for one test: started on free ports on 127.0.0.1 through
//! `scripts/bigquery-emulator.sh`, stopped when the guard drops.

use std::path::PathBuf;
use std::process::Command;
use std::sync::Arc;

use pipeline_core::schema::TableSchema;
use pipeline_store_bigquery::{BigQueryConfig, BigQueryStore};

use crate::support::repo_root;

pub struct Emulator {
    pub rest: String,
    pub grpc: String,
    pub project: String,
    data_dir: String,
}

fn tools_dir() -> PathBuf {
    std::env::var_os("PIPELINE_TOOLS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("HOME").unwrap_or_default())
                .join(".cache/pipeline-tools")
        })
        .join("bq-emulator")
}

impl Emulator {
    /// Starts a fresh emulator. Fails (never skips) when it is not installed: CI runs
    /// `scripts/bigquery-emulator.sh install` first, and so should a developer.
    pub fn start() -> Emulator {
        let tools = tools_dir();
        assert!(
            tools.join("installed.stamp").is_file()
                && tools.join("venv/bin/local-bigquery").is_file(),
            "the BigQuery emulator is not installed in {}: \
             run `bash scripts/bigquery-emulator.sh install`",
            tools.display()
        );
        let script = repo_root().join("scripts/bigquery-emulator.sh");
        let output = Command::new("bash")
            .arg(&script)
            .arg("start")
            .output()
            .expect("failed to run scripts/bigquery-emulator.sh start");
        assert!(
            output.status.success(),
            "the BigQuery emulator did not start:\n{}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = String::from_utf8_lossy(&output.stdout);
        let var = |name: &str| -> String {
            text.lines()
                .find_map(|line| line.strip_prefix(&format!("{name}=")))
                .map(|v| v.trim_matches(|c| c == '\'' || c == '"').to_owned())
                .unwrap_or_else(|| panic!("`start` printed no {name}:\n{text}"))
        };
        Emulator {
            rest: var("BQ_EMULATOR_REST"),
            grpc: var("BQ_EMULATOR_GRPC"),
            project: var("BQ_EMULATOR_PROJECT"),
            data_dir: var("BQ_EMULATOR_DATA_DIR"),
        }
    }

    pub fn config(&self, dataset: &str) -> BigQueryConfig {
        let mut config = BigQueryConfig::new(&self.project, dataset);
        config.rest_endpoint = Some(self.rest.clone());
        config.grpc_endpoint = Some(self.grpc.clone());
        config.anonymous = true;
        // The emulator is slow under a parallel test run on two cores; the store's
        // production attempt timeout would turn that slowness into flaky failures.
        config.retry.attempt_timeout = std::time::Duration::from_secs(30);
        config
    }

    /// Creates the dataset and tables for `schema` and opens the store on them.
    pub async fn store(&self, dataset: &str, schema: Arc<TableSchema>) -> Arc<BigQueryStore> {
        let config = self.config(dataset);
        pipeline_store_bigquery::create_tables(&config, &schema)
            .await
            .expect("failed to create the emulator's tables");
        Arc::new(
            BigQueryStore::open(config, schema)
                .await
                .expect("failed to open the BigQuery store on the emulator"),
        )
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let script = repo_root().join("scripts/bigquery-emulator.sh");
        let _ = Command::new("bash")
            .arg(script)
            .arg("stop")
            .arg(&self.data_dir)
            .output();
        let _ = std::fs::remove_dir_all(&self.data_dir);
    }
}
