//! Google's Pub/Sub emulator on a free 127.0.0.1 port, stopped when dropped, and the
//! small pieces the Pub/Sub tests share: settings files, fixed ports, `pipeline up` on
//! a given port, row and dead-letter counts.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use pipeline_pubsub::Endpoint;
use pipeline_pubsub::client::model::Message;

use crate::support::process::{PIPELINE, Up};
use crate::support::repo_root;

pub const PROJECT: &str = "test-proj";

/// A running emulator; `scripts/pubsub-emulator.sh stop` runs on drop.
pub struct Emulator {
    pub endpoint: String,
    dir: tempfile::TempDir,
}

impl Emulator {
    /// Starts the emulator, or returns `None` (saying so) when it is not installed
    /// outside CI; in CI its absence fails the test.
    pub fn start() -> Option<Emulator> {
        let script = repo_root().join("scripts/pubsub-emulator.sh");
        let check = Command::new("bash")
            .arg(&script)
            .arg("check")
            .output()
            .unwrap();
        if !check.status.success() {
            let why = String::from_utf8_lossy(&check.stderr).into_owned();
            assert!(std::env::var("CI").as_deref() != Ok("true"), "{why}");
            eprintln!("NOT RUN: the Pub/Sub emulator is not installed: {why}");
            return None;
        }
        let dir = tempfile::tempdir().unwrap();
        let output = Command::new("bash")
            .arg(&script)
            .args(["start", "--data-dir"])
            .arg(dir.path())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "emulator did not start: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let host = stdout
            .lines()
            .find_map(|l| l.strip_prefix("PUBSUB_EMULATOR_HOST="))
            .expect("start printed no PUBSUB_EMULATOR_HOST");
        Some(Emulator {
            endpoint: format!("http://{host}"),
            dir,
        })
    }

    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(Some(self.endpoint.clone()))
    }

    /// Runs `pipeline pubsub setup` for topic `name` with subscription `name-sub`.
    pub fn setup(&self, name: &str, push: Option<&str>, settings: &Path) -> Names {
        let names = Names::new(name);
        let mut command = Command::new(PIPELINE);
        command
            .args(["pubsub", "setup", "--topic", &names.topic])
            .args(["--subscription", &names.subscription])
            .args(["--pubsub-endpoint", &self.endpoint])
            .arg("--settings")
            .arg(settings);
        if let Some(url) = push {
            command.args(["--push-endpoint", url]);
        }
        let output = command.output().unwrap();
        assert!(
            output.status.success(),
            "setup failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        names
    }

    /// Removes the subscription's retry policy, so failed deliveries come back when
    /// their ack deadline runs out instead of after a backoff.
    ///
    /// Why a test would: with a retry policy, emulator 0.8.20 can lose messages that
    /// fail more than once within a second or so (docs/pubsub.md, "The emulator's retry
    /// policy loses messages"). Real Pub/Sub has no such path.
    pub async fn clear_retry_policy(&self, names: &Names) {
        use pipeline_pubsub::client::model::Subscription;
        use pipeline_pubsub::wkt::FieldMask;

        let admin = pipeline_pubsub::connect::subscription_admin(&self.endpoint())
            .await
            .unwrap();
        admin
            .update_subscription()
            .set_subscription(Subscription::new().set_name(&names.subscription))
            .set_update_mask(FieldMask::default().set_paths(["retry_policy"]))
            .send()
            .await
            .unwrap();
        let now = admin
            .get_subscription()
            .set_subscription(&names.subscription)
            .send()
            .await
            .unwrap();
        assert!(
            now.retry_policy.is_none(),
            "retry policy still set: {now:?}"
        );
    }

    /// `pipeline publish FILE --topic ...`; returns the JSON summary.
    pub fn publish(&self, file: &Path, topic: &str, extra: &[&str]) -> serde_json::Value {
        let output = Command::new(PIPELINE)
            .arg("publish")
            .arg(file)
            .args([
                "--topic",
                topic,
                "--pubsub-endpoint",
                &self.endpoint,
                "--json",
            ])
            .args(extra)
            .current_dir(repo_root())
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout);
        assert!(
            output.status.success(),
            "publish failed: {stdout}{}",
            String::from_utf8_lossy(&output.stderr)
        );
        serde_json::from_str(stdout.trim()).unwrap()
    }

    /// Fails if anything reaches the dead-letter topic within 2 s.
    pub async fn assert_nothing_dead_lettered(&self, names: &Names) {
        let dead = self.dead_lettered(names, Duration::from_secs(2)).await;
        assert!(
            dead.is_empty(),
            "{} messages reached the dead-letter topic",
            dead.len()
        );
    }

    /// Pulls the dead-letter subscription for `wait` and returns what arrived (acked).
    pub async fn dead_lettered(&self, names: &Names, wait: Duration) -> Vec<Message> {
        let subscriber = pipeline_pubsub::connect::subscriber(&self.endpoint())
            .await
            .unwrap();
        let mut stream = subscriber
            .subscribe(names.dead_letter_subscription.clone())
            .build();
        let mut messages = Vec::new();
        let deadline = tokio::time::Instant::now() + wait;
        while let Ok(Some(next)) = tokio::time::timeout_at(deadline, stream.next()).await {
            let (message, handler) = next.unwrap();
            handler.ack();
            messages.push(message);
        }
        messages
    }
}

impl Drop for Emulator {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo_root().join("scripts/pubsub-emulator.sh"))
            .arg("stop")
            .arg(self.dir.path())
            .stderr(Stdio::null())
            .status();
    }
}

pub struct Names {
    pub topic: String,
    pub subscription: String,
    pub dead_letter_subscription: String,
}

impl Names {
    fn new(name: &str) -> Names {
        Names {
            topic: format!("projects/{PROJECT}/topics/{name}"),
            subscription: format!("projects/{PROJECT}/subscriptions/{name}-sub"),
            dead_letter_subscription: format!(
                "projects/{PROJECT}/subscriptions/{name}-dead-letter-pull"
            ),
        }
    }
}

/// A settings file with test-sized backoff: the keys of `config/pubsub.json`.
pub fn settings(min_backoff_s: u32, max_backoff_s: u32, attempts: u32) -> tempfile::NamedTempFile {
    let file = tempfile::NamedTempFile::new().unwrap();
    let json = serde_json::json!({
        "message_retention": "3600s",
        "ack_deadline_seconds": 10,
        "minimum_backoff": format!("{min_backoff_s}s"),
        "maximum_backoff": format!("{max_backoff_s}s"),
        "max_delivery_attempts": attempts,
        "dead_letter_retention": "3600s",
        "subscription_retention": "3600s",
    });
    std::fs::write(file.path(), json.to_string()).unwrap();
    file
}

/// A port free now, for a push endpoint fixed in the subscription before `up` starts.
pub fn free_port() -> u16 {
    let socket = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    socket.local_addr().unwrap().port()
}

/// `pipeline up` with its ingest on `ingest_port` (0: any), over `data_dir`.
pub fn up_on(schema: &Path, data_dir: &Path, ingest_port: u16, extra: &[&str]) -> Up {
    let mut command = Command::new(PIPELINE);
    command
        .args(["up", "--ingest-port", &ingest_port.to_string()])
        .args(["--api-port", "0", "--schema"])
        .arg(schema)
        .arg("--data-dir")
        .arg(data_dir)
        .args(extra)
        .env("PIPELINE_LOG_FORMAT", "json")
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null());
    Up::spawn(command, Duration::from_secs(30))
}

pub fn db(data_dir: &Path, table: &str) -> PathBuf {
    data_dir.join(format!("{table}.db"))
}

/// Rows in the table, read from the SQLite file (cheap enough to poll).
pub fn row_count(data_dir: &Path, table: &str) -> i64 {
    let path = db(data_dir, table);
    if !path.exists() {
        return 0;
    }
    let conn = rusqlite::Connection::open(path).unwrap();
    conn.busy_timeout(Duration::from_secs(5)).unwrap();
    conn.query_row(&format!("SELECT COUNT(*) FROM \"{table}\""), [], |r| {
        r.get(0)
    })
    .unwrap_or(0)
}

/// Polls until `table` has at least `n` rows or `limit` passes; returns the count.
pub fn wait_for_rows(data_dir: &Path, table: &str, n: i64, limit: Duration) -> i64 {
    let started = Instant::now();
    loop {
        let count = row_count(data_dir, table);
        if count >= n || started.elapsed() > limit {
            return count;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}
