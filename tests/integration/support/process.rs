//! The real `pipeline` binary as a child process, for tests that kill or signal it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub const PIPELINE: &str = env!("CARGO_BIN_EXE_pipeline");

/// A running `pipeline up`; killed when dropped.
pub struct Up {
    pub child: Child,
    pub ingest: String,
    pub api: String,
}

impl Up {
    /// Starts `pipeline up` on free ports over `data_dir` and waits for its READY line.
    pub fn start(schema: &Path, data_dir: &Path, extra: &[&str]) -> Up {
        let mut command = Command::new(PIPELINE);
        command
            .args(["up", "--ingest-port", "0", "--api-port", "0", "--schema"])
            .arg(schema)
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .env("PIPELINE_LOG_FORMAT", "json")
            .stderr(Stdio::inherit());
        Up::spawn(command, Duration::from_secs(30))
    }

    /// Spawns `command` (a `pipeline up`) with its standard output piped and waits up
    /// to `limit` for its READY line.
    pub fn spawn(mut command: Command, limit: Duration) -> Up {
        let mut child = command
            .stdout(Stdio::piped())
            .spawn()
            .expect("failed to start pipeline up");
        let (ingest, api) = wait_ready(&mut child, limit);
        Up { child, ingest, api }
    }

    pub fn push_url(&self) -> String {
        format!("http://{}/pubsub/push", self.ingest)
    }

    pub fn kill9(&mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }

    /// Sends SIGTERM and waits for exit; returns how long it took.
    pub fn terminate(&mut self, limit: Duration) -> Duration {
        let started = Instant::now();
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        while started.elapsed() < limit {
            if self.child.try_wait().unwrap().is_some() {
                return started.elapsed();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("pipeline up did not exit within {limit:?} of SIGTERM");
    }
}

impl Drop for Up {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `pipeline publish FILE --json ...` and returns its summary.
pub fn publish(file: &Path, url: &str, extra: &[&str]) -> serde_json::Value {
    let output = Command::new(PIPELINE)
        .arg("publish")
        .arg(file)
        .args(["--url", url, "--json"])
        .args(extra)
        .current_dir(super::repo_root())
        .output()
        .expect("failed to run pipeline publish");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "publish failed: {stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("bad summary {stdout}: {e}"))
}

/// Reads a `pipeline up` child's piped standard output until its READY line (at most
/// `limit`) and returns the ingest and data-api addresses it names.
pub fn wait_ready(child: &mut Child, limit: Duration) -> (String, String) {
    let stdout = child.stdout.take().expect("stdout is not piped");
    let (tx, rx) = std::sync::mpsc::channel();
    // Reads on to the end, so the child never blocks on a full pipe.
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if let Some(rest) = line.strip_prefix("READY ") {
                let _ = tx.send(rest.to_owned());
            }
        }
    });
    let ready = rx
        .recv_timeout(limit)
        .expect("pipeline up never became ready");
    let field = |key: &str| {
        ready
            .split_whitespace()
            .find_map(|kv| kv.strip_prefix(&format!("{key}=")))
            .unwrap()
            .to_owned()
    };
    (field("ingest"), field("data_api"))
}
