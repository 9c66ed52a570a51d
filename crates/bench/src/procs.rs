//! Servers under test as child processes, their memory, and seeding a large table.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::{Context, bail};
use pipeline_core::schema::TableSchema;
use pipeline_core::store::{RowRecord, Store, WriteItem};
use pipeline_core::value::Value;
use pipeline_store_sqlite::SqliteStore;

pub fn free_port() -> anyhow::Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// A child process that is killed when dropped.
pub struct Server {
    child: Child,
}

impl Server {
    /// Spawns `program args` and waits for a stdout line starting with `ready`.
    pub fn spawn(program: &Path, args: &[&str], ready: &str) -> anyhow::Result<Server> {
        let mut child = Command::new(program)
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("failed to start {}", program.display()))?;
        let stdout = child.stdout.take().context("no stdout")?;
        let mut lines = BufReader::new(stdout).lines();
        loop {
            match lines.next() {
                Some(Ok(line)) if line.starts_with(ready) => break,
                Some(_) => continue,
                None => bail!("{} exited before it was ready", program.display()),
            }
        }
        // Keep draining stdout so the child never blocks on a full pipe.
        std::thread::spawn(move || for _ in lines {});
        Ok(Server { child })
    }

    /// Resident set size in KiB, from /proc.
    pub fn rss_kib(&self) -> u64 {
        rss_kib(self.child.id())
    }

    /// Samples RSS every 50 ms until stopped; returns the peak.
    pub fn rss_sampler(&self) -> Sampler {
        let (pid, stop, peak) = (
            self.child.id(),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicU64::new(0)),
        );
        let (s, p) = (stop.clone(), peak.clone());
        let handle = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                p.fetch_max(rss_kib(pid), Ordering::Relaxed);
                std::thread::sleep(Duration::from_millis(50));
            }
        });
        Sampler {
            stop,
            peak,
            handle: Some(handle),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub struct Sampler {
    stop: Arc<AtomicBool>,
    peak: Arc<AtomicU64>,
    handle: Option<std::thread::JoinHandle<()>>,
}

impl Sampler {
    pub fn stop(mut self) -> u64 {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
        self.peak.load(Ordering::Relaxed)
    }
}

fn rss_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0)
}

pub fn pipeline_up(
    pipeline: &Path,
    dir: &Path,
    schema: &str,
    ingest_port: u16,
    api_port: u16,
) -> anyhow::Result<Server> {
    let args = [
        "up",
        "--schema",
        schema,
        "--data-dir",
        dir.to_str().context("data dir is not UTF-8")?,
        "--ingest-port",
        &ingest_port.to_string(),
        "--api-port",
        &api_port.to_string(),
    ];
    Server::spawn(pipeline, &args, "READY")
}

/// Writes `rows` rows of example_table straight through the store, in large batches.
pub async fn seed_sqlite(dir: &Path, rows: usize) -> anyhow::Result<()> {
    let schema = Arc::new(TableSchema::load(
        Path::new("schemas/example_table.json"),
        None,
    )?);
    let store = SqliteStore::open(dir, schema)?;
    let mut batch = Vec::with_capacity(10_000);
    for i in 0..rows {
        batch.push(WriteItem::Row(RowRecord {
            message_id: format!("seed-{i:08}"),
            publish_time: 1_796_378_400_000_000 + i as i64,
            attributes: BTreeMap::from([("source".to_owned(), "seed".to_owned())]),
            values: vec![Value::Int64(i as i64), Value::String(format!("row {i}"))],
            payload: Vec::new(),
        }));
        if batch.len() == 10_000 || i + 1 == rows {
            store.write(&batch).await?;
            batch.clear();
        }
    }
    Ok(())
}
