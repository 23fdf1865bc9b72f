//! Group commit for audit events that record no change (read-only and denied calls).
//!
//! [`AuditWriter::record`] puts the event in a bounded in-memory queue and returns at once;
//! a background task takes whatever is queued (up to [`AuditWriterConfig::max_batch`]
//! events, waiting at most [`AuditWriterConfig::linger`] for more) and appends it in one
//! transaction. At 25,000 calls/s that is a few dozen transactions a second instead of
//! 25,000.
//!
//! Backpressure: nothing is silently dropped. When the queue is full (the store has been
//! slower than the traffic for a while), [`AuditWriter::record`] returns
//! [`RecordError::Full`] with the event, and the caller should fail the request (AWS's
//! `ThrottlingException`) rather than serve it unrecorded: an unaudited call is worse than
//! a throttled one. [`AuditWriter::record_or_wait`] instead waits for room. If a commit
//! fails, the task keeps the batch and retries (backing off up to a second), so a store
//! outage fills the queue and throttles callers instead of losing events.
//!
//! An acknowledged `record` is not durable yet: [`AuditWriter::flush`] waits until every
//! event recorded before it is committed (use it at shutdown and in tests). Events are
//! committed in the order they were recorded.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::{AuditEvent, Store, StoreError};

/// Tuning of an [`AuditWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditWriterConfig {
    /// Events the queue holds before [`AuditWriter::record`] says [`RecordError::Full`].
    pub capacity: usize,
    /// Most events committed in one transaction.
    pub max_batch: usize,
    /// How long the task waits for more events after the first of a batch.
    pub linger: Duration,
}

impl Default for AuditWriterConfig {
    fn default() -> Self {
        AuditWriterConfig {
            // A few seconds of traffic at 25,000 calls/s.
            capacity: 65_536,
            max_batch: 2_000,
            linger: Duration::from_millis(2),
        }
    }
}

/// Why [`AuditWriter::record`] did not take an event; the event is handed back.
#[derive(Debug, thiserror::Error)]
pub enum RecordError {
    /// The queue is full: fail the request with a throttling error.
    #[error("the audit queue is full")]
    Full(Box<AuditEvent>),
    /// The writer's task has stopped (the runtime is shutting down).
    #[error("the audit writer has stopped")]
    Closed(Box<AuditEvent>),
}

// Events travel unboxed: one allocation less per recorded call; the queue is bounded anyway.
#[allow(clippy::large_enum_variant)]
enum Msg {
    Event(AuditEvent),
    Flush(oneshot::Sender<()>),
}

/// Queues audit events and group-commits them in the background. Cheap to clone; the
/// task ends when every clone is dropped, after committing what was queued.
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("queued", &(self.tx.max_capacity() - self.tx.capacity()))
            .finish()
    }
}

impl AuditWriter {
    /// Starts the background task on the current tokio runtime, with default tuning.
    pub fn spawn(store: Arc<dyn Store>) -> AuditWriter {
        Self::spawn_with(store, AuditWriterConfig::default())
    }

    /// Starts the background task with `config`.
    pub fn spawn_with(store: Arc<dyn Store>, config: AuditWriterConfig) -> AuditWriter {
        let (tx, rx) = mpsc::channel(config.capacity.max(1));
        tokio::spawn(run(store, rx, config));
        AuditWriter { tx }
    }

    /// Queues `event` without waiting. See the module documentation for what to do with
    /// [`RecordError::Full`].
    pub fn record(&self, event: AuditEvent) -> Result<(), RecordError> {
        self.tx.try_send(Msg::Event(event)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(Msg::Event(e)) => RecordError::Full(Box::new(e)),
            mpsc::error::TrySendError::Closed(Msg::Event(e)) => RecordError::Closed(Box::new(e)),
            // Only events are sent here.
            _ => unreachable!("record sends only events"),
        })
    }

    /// Queues `event`, waiting for room if the queue is full.
    pub async fn record_or_wait(&self, event: AuditEvent) -> Result<(), StoreError> {
        self.tx
            .send(Msg::Event(event))
            .await
            .map_err(|_| StoreError::Closed)
    }

    /// Waits until every event recorded before this call is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Flush(done))
            .await
            .map_err(|_| StoreError::Closed)?;
        wait.await.map_err(|_| StoreError::Closed)
    }
}

async fn run(store: Arc<dyn Store>, mut rx: mpsc::Receiver<Msg>, config: AuditWriterConfig) {
    let max_batch = config.max_batch.max(1);
    let mut batch: Vec<AuditEvent> = Vec::new();
    let mut flushes: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let mut flush_now = take(first, &mut batch, &mut flushes);
        let deadline = tokio::time::Instant::now() + config.linger;
        while !flush_now && batch.len() < max_batch {
            // Take what is already queued, then linger for stragglers.
            let msg = match rx.try_recv() {
                Ok(msg) => msg,
                Err(mpsc::error::TryRecvError::Disconnected) => break,
                Err(mpsc::error::TryRecvError::Empty) => {
                    match tokio::time::timeout_at(deadline, rx.recv()).await {
                        Ok(Some(msg)) => msg,
                        Ok(None) | Err(_) => break,
                    }
                }
            };
            flush_now = take(msg, &mut batch, &mut flushes);
        }
        commit_with_retry(store.as_ref(), &mut batch).await;
        for done in flushes.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Adds `msg` to the batch; true if it asks for a flush.
fn take(msg: Msg, batch: &mut Vec<AuditEvent>, flushes: &mut Vec<oneshot::Sender<()>>) -> bool {
    match msg {
        Msg::Event(e) => {
            batch.push(e);
            false
        }
        Msg::Flush(done) => {
            flushes.push(done);
            true
        }
    }
}

/// Appends `batch`, retrying until it commits; leaves it empty.
async fn commit_with_retry(store: &dyn Store, batch: &mut Vec<AuditEvent>) {
    if batch.is_empty() {
        return;
    }
    let mut backoff = Duration::from_millis(10);
    loop {
        match store.append_audit(batch.clone()).await {
            Ok(()) => {
                batch.clear();
                return;
            }
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "cannot append audit events; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
}
