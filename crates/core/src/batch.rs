//! Group commit in front of any [`Store`].
//!
//! Concurrent requests each submit one item and wait. A single writer task takes
//! whatever has queued up (at most `max_rows`) and writes it as one batch, so while one
//! batch commits the next one gathers: under load batches grow and each commit is
//! shared by many requests; when idle, a lone message is written at once. Every waiting
//! request then gets its own item's outcome.

use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::names;
use crate::store::{DeadLetter, ItemOutcome, Store, StoreError, WriteItem};

#[derive(Debug, Clone, Copy)]
pub struct BatchConfig {
    /// Most items in one write.
    pub max_rows: usize,
    /// Items waiting beyond this are refused at once ([`SubmitError::Overloaded`]).
    pub queue_capacity: usize,
    /// A write that takes longer is abandoned and its items answered as failures.
    pub write_timeout: Duration,
    /// Writes allowed at the same time (1 for SQLite's single writer).
    pub max_concurrent_writes: usize,
}

impl Default for BatchConfig {
    fn default() -> Self {
        BatchConfig {
            max_rows: 1000,
            queue_capacity: 20_000,
            write_timeout: Duration::from_secs(8),
            max_concurrent_writes: 1,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SubmitError {
    #[error("the write queue is full")]
    Overloaded,
    #[error("the writer has stopped")]
    Closed,
    #[error(transparent)]
    Store(#[from] StoreError),
}

type Reply = oneshot::Sender<Result<ItemOutcome, StoreError>>;

struct Job {
    item: WriteItem,
    reply: Reply,
    /// The submitter's span: the batch span links to it, so a trace of one request
    /// leads to the shared write that made its message durable.
    span: tracing::Span,
}

/// A handle for submitting items; cheap to clone. The writer task ends when the last
/// handle is dropped and the queue is drained.
#[derive(Clone)]
pub struct Batcher {
    tx: mpsc::Sender<Job>,
}

impl Batcher {
    pub fn spawn(store: Arc<dyn Store>, config: BatchConfig) -> (Batcher, JoinHandle<()>) {
        let (tx, rx) = mpsc::channel(config.queue_capacity.max(1));
        let task = tokio::spawn(run(store, config, rx));
        (Batcher { tx }, task)
    }

    /// Queues one item and waits until it is durable (or failed).
    pub async fn submit(&self, item: WriteItem) -> Result<ItemOutcome, SubmitError> {
        let (reply, answer) = oneshot::channel();
        let span = tracing::Span::current();
        self.tx
            .try_send(Job { item, reply, span })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => SubmitError::Overloaded,
                mpsc::error::TrySendError::Closed(_) => SubmitError::Closed,
            })?;
        match answer.await {
            Ok(result) => result.map_err(SubmitError::Store),
            Err(_) => Err(SubmitError::Closed),
        }
    }
}

async fn run(store: Arc<dyn Store>, config: BatchConfig, mut rx: mpsc::Receiver<Job>) {
    let permits = Arc::new(Semaphore::new(config.max_concurrent_writes.max(1)));
    let mut writers = tokio::task::JoinSet::new();

    while let Some(first) = rx.recv().await {
        let mut jobs = vec![first];
        while jobs.len() < config.max_rows {
            match rx.try_recv() {
                Ok(job) => jobs.push(job),
                Err(_) => break,
            }
        }

        let permit = Arc::clone(&permits).acquire_owned().await;
        let store = Arc::clone(&store);
        writers.spawn(async move {
            write_batch(store.as_ref(), jobs, config.write_timeout).await;
            drop(permit);
        });
        // Reap finished writers so the set does not grow.
        while writers.try_join_next().is_some() {}
    }

    // Drain: every queued request is answered before the task ends.
    while writers.join_next().await.is_some() {}
}

#[tracing::instrument(name = "batch", skip_all, fields(rows = jobs.len()))]
async fn write_batch(store: &dyn Store, jobs: Vec<Job>, timeout: Duration) {
    let batch_span = tracing::Span::current();
    for job in &jobs {
        batch_span.follows_from(&job.span);
    }
    let (items, replies): (Vec<WriteItem>, Vec<Reply>) =
        jobs.into_iter().map(|j| (j.item, j.reply)).unzip();

    metrics::histogram!(names::INGEST_BATCH_ROWS).record(items.len() as f64);
    let outcomes = timed_write(store, &items, timeout).await;

    let mut outcomes: Vec<Result<ItemOutcome, StoreError>> = match outcomes {
        Ok(outcomes) if outcomes.len() == items.len() => {
            outcomes.into_iter().map(Ok).collect::<Vec<_>>()
        }
        Ok(outcomes) => {
            let err = StoreError::new(
                "store answered for the wrong number of items",
                format!("{} outcomes for {} items", outcomes.len(), items.len()),
            );
            tracing::error!(error = %err, "store broke the write contract");
            return answer_all_failed(replies, &err);
        }
        Err(err) => return answer_all_failed(replies, &err),
    };

    dead_letter_refused(store, &items, &mut outcomes, timeout).await;
    record_freshness(&items, &outcomes);

    for (reply, outcome) in replies.into_iter().zip(outcomes) {
        // The requester may have given up (client gone); the item is durable regardless.
        let _ = reply.send(outcome);
    }
}

#[tracing::instrument(
    name = "store.write",
    skip_all,
    fields(store = store.kind(), items = items.len())
)]
async fn timed_write(
    store: &dyn Store,
    items: &[WriteItem],
    timeout: Duration,
) -> Result<Vec<ItemOutcome>, StoreError> {
    let started = Instant::now();
    let result = match tokio::time::timeout(timeout, store.write(items)).await {
        Ok(result) => result,
        Err(_) => Err(StoreError::new(
            format!("write of {} items", items.len()),
            format!("timed out after {timeout:?}"),
        )),
    };
    metrics::histogram!(names::INGEST_BATCH_WRITE_DURATION_SECONDS, "store" => store.kind())
        .record(started.elapsed().as_secs_f64());
    if let Err(err) = &result {
        let items = items.len();
        tracing::warn!(store = store.kind(), items, error = %err, "batch write failed");
    }
    result
}

fn answer_all_failed(replies: Vec<Reply>, err: &StoreError) {
    for reply in replies {
        let _ = reply.send(Err(StoreError::new(
            err.context.clone(),
            err.source.to_string(),
        )));
    }
}

/// Rows the store refused one by one go to the dead-letter store, in one more write.
async fn dead_letter_refused(
    store: &dyn Store,
    items: &[WriteItem],
    outcomes: &mut [Result<ItemOutcome, StoreError>],
    timeout: Duration,
) {
    let refused: Vec<usize> = outcomes
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, Ok(ItemOutcome::Refused(_))))
        .map(|(i, _)| i)
        .collect();
    if refused.is_empty() {
        return;
    }

    let letters: Vec<WriteItem> = refused
        .iter()
        .filter_map(|&i| match (&items[i], &outcomes[i]) {
            (WriteItem::Row(row), Ok(ItemOutcome::Refused(rejection))) => Some(
                WriteItem::DeadLetter(DeadLetter::from_row(row.clone(), rejection.clone())),
            ),
            _ => None,
        })
        .collect();

    match timed_write(store, &letters, timeout).await {
        Ok(results) if results.len() == refused.len() => {
            for (&i, result) in refused.iter().zip(results) {
                outcomes[i] = Ok(result);
            }
        }
        Ok(_) | Err(_) => {
            // The dead-letter write failed: these messages must be delivered again.
            for &i in &refused {
                outcomes[i] = Err(StoreError::new("dead-letter write", "failed"));
            }
        }
    }
}

fn record_freshness(items: &[WriteItem], outcomes: &[Result<ItemOutcome, StoreError>]) {
    let now = chrono::Utc::now().timestamp_micros();
    for (item, outcome) in items.iter().zip(outcomes) {
        if let (WriteItem::Row(row), Ok(ItemOutcome::Stored)) = (item, outcome) {
            let lag = (now - row.publish_time).max(0) as f64 / 1e6;
            metrics::histogram!(names::INGEST_FRESHNESS_LAG_SECONDS).record(lag);
        }
    }
}
