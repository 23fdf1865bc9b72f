//! Group commit for audit events that record no change (read-only and denied calls).
//!
//! [`AuditWriter::record`] puts the event in a bounded in-memory queue and returns at once;
//! a background task, woken by the first event of a batch, waits
//! [`AuditWriterConfig::linger`] for more, takes what is queued by then (up to
//! [`AuditWriterConfig::max_batch`] events) and appends it in one transaction. At 25,000
//! calls/s that is about 200 transactions a second instead of 25,000.
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
//! event recorded before it is committed (use it at shutdown and in tests), and
//! [`AuditWriter::record_durably`] until its own event is (it joins the batch like any
//! other, without cutting the linger short: for calls that must not be answered before
//! they are on disk, such as denials). Events are committed in the order they were
//! recorded.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::{Notify, mpsc, oneshot};

use crate::{AuditEvent, PreparedAuditEvent, Store, StoreError};

/// Tuning of an [`AuditWriter`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AuditWriterConfig {
    /// Events the queue holds before [`AuditWriter::record`] says [`RecordError::Full`].
    pub capacity: usize,
    /// Bytes of rendered events ([`PreparedAuditEvent::size`]) the queue holds before
    /// [`AuditWriter::record`] says [`RecordError::Full`] (checked before an event is
    /// added, so the queue may exceed it by one event).
    pub max_bytes: usize,
    /// Most events committed in one transaction.
    pub max_batch: usize,
    /// How long the task waits for more events after the first of a batch.
    pub linger: Duration,
}

impl Default for AuditWriterConfig {
    fn default() -> Self {
        AuditWriterConfig {
            // A few seconds of traffic at 35,000 calls/s: long enough to ride out the
            // store's stalls (a disk that takes a second to sync). With 64 MiB, which held
            // 0.8 s of KMS calls, a benchmark on a two-core VM saw thousands of calls
            // throttled in some of its phases.
            capacity: 131_072,
            // A rendered event takes at least 2.2 KB (its buffer starts at 2 KiB, and its
            // capacity counts): about 115,000 events, so this binds before the count.
            max_bytes: 256 << 20,
            max_batch: 2_000,
            // Short, so that each commit is short: while one runs it holds a core, and
            // with 10 ms batches the slowest calls waited for it on a two-core machine.
            linger: Duration::from_millis(5),
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

/// Why [`AuditWriter::record_prepared`] did not take an event (it is dropped: fail the
/// request).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QueueError {
    /// The queue is full: fail the request with a throttling error.
    #[error("the audit queue is full")]
    Full,
    /// The writer's task has stopped (the runtime is shutting down).
    #[error("the audit writer has stopped")]
    Closed,
}

// Events travel unboxed: one allocation less per recorded call; the queue is bounded anyway.
#[allow(clippy::large_enum_variant)]
enum Msg {
    /// An event, and who waits for its commit, if anyone.
    Event(PreparedAuditEvent, Option<oneshot::Sender<()>>),
    Flush(oneshot::Sender<()>),
}

/// Queues audit events and group-commits them in the background. Cheap to clone; the
/// task ends when every clone is dropped, after committing what was queued.
#[derive(Clone)]
pub struct AuditWriter {
    tx: mpsc::Sender<Msg>,
    /// Bytes of the events queued and not committed yet.
    queued_bytes: Arc<AtomicUsize>,
    max_bytes: usize,
    /// Tells the task to commit what it holds without lingering (see [`Self::flush`]).
    flush_requested: Arc<Notify>,
}

impl std::fmt::Debug for AuditWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditWriter")
            .field("queued", &(self.tx.max_capacity() - self.tx.capacity()))
            .field("queued_bytes", &self.queued_bytes.load(Ordering::Relaxed))
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
        let queued_bytes = Arc::new(AtomicUsize::new(0));
        let flush_requested = Arc::new(Notify::new());
        tokio::spawn(run(
            store,
            rx,
            config,
            queued_bytes.clone(),
            flush_requested.clone(),
        ));
        AuditWriter {
            tx,
            queued_bytes,
            max_bytes: config.max_bytes.max(1),
            flush_requested,
        }
    }

    /// Queues `event` without waiting. See the module documentation for what to do with
    /// [`RecordError::Full`]. The event is rendered ([`PreparedAuditEvent`]) here, on the
    /// caller's thread.
    pub fn record(&self, event: AuditEvent) -> Result<(), RecordError> {
        if self.queued_bytes.load(Ordering::Relaxed) >= self.max_bytes {
            return Err(RecordError::Full(Box::new(event)));
        }
        let permit = match self.tx.try_reserve() {
            Ok(permit) => permit,
            Err(mpsc::error::TrySendError::Full(())) => {
                return Err(RecordError::Full(Box::new(event)));
            }
            Err(mpsc::error::TrySendError::Closed(())) => {
                return Err(RecordError::Closed(Box::new(event)));
            }
        };
        let prepared = PreparedAuditEvent::from(event);
        self.queued_bytes
            .fetch_add(prepared.size(), Ordering::Relaxed);
        permit.send(Msg::Event(prepared, None));
        Ok(())
    }

    /// Queues an event already rendered (the request path builds its record as canonical
    /// JSON directly: [`PreparedAuditEvent::with_canonical_record`]), without waiting.
    pub fn record_prepared(&self, event: PreparedAuditEvent) -> Result<(), QueueError> {
        self.queue_prepared(event, None)
    }

    /// Queues an event already rendered, like [`Self::record_prepared`], and waits until
    /// it is committed: at most the linger and one commit later.
    pub async fn record_durably(&self, event: PreparedAuditEvent) -> Result<(), QueueError> {
        let (done, committed) = oneshot::channel();
        self.queue_prepared(event, Some(done))?;
        committed.await.map_err(|_| QueueError::Closed)
    }

    fn queue_prepared(
        &self,
        event: PreparedAuditEvent,
        committed: Option<oneshot::Sender<()>>,
    ) -> Result<(), QueueError> {
        if self.queued_bytes.load(Ordering::Relaxed) >= self.max_bytes {
            return Err(QueueError::Full);
        }
        let permit = self.tx.try_reserve().map_err(|e| match e {
            mpsc::error::TrySendError::Full(()) => QueueError::Full,
            mpsc::error::TrySendError::Closed(()) => QueueError::Closed,
        })?;
        self.queued_bytes.fetch_add(event.size(), Ordering::Relaxed);
        permit.send(Msg::Event(event, committed));
        Ok(())
    }

    /// Queues `event`, waiting for room if the queue is full (by count; the byte bound
    /// is not waited for).
    pub async fn record_or_wait(&self, event: AuditEvent) -> Result<(), StoreError> {
        let permit = self.tx.reserve().await.map_err(|_| StoreError::Closed)?;
        let prepared = PreparedAuditEvent::from(event);
        self.queued_bytes
            .fetch_add(prepared.size(), Ordering::Relaxed);
        permit.send(Msg::Event(prepared, None));
        Ok(())
    }

    /// Waits until every event recorded before this call is committed.
    pub async fn flush(&self) -> Result<(), StoreError> {
        let (done, wait) = oneshot::channel();
        self.tx
            .send(Msg::Flush(done))
            .await
            .map_err(|_| StoreError::Closed)?;
        self.flush_requested.notify_one();
        wait.await.map_err(|_| StoreError::Closed)
    }
}

async fn run(
    store: Arc<dyn Store>,
    mut rx: mpsc::Receiver<Msg>,
    config: AuditWriterConfig,
    queued_bytes: Arc<AtomicUsize>,
    flush_requested: Arc<Notify>,
) {
    let max_batch = config.max_batch.max(1);
    let mut batch: Vec<PreparedAuditEvent> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        let flush_now = take(first, &mut batch, &mut waiting)
            || fill(&mut rx, &mut batch, &mut waiting, max_batch);
        if !flush_now && batch.len() < max_batch {
            // Let the batch fill: one wake-up per batch rather than one per event. A
            // flush cuts the wait short. Not when a full batch was already waiting (the
            // store is behind): a writer that lingered anyway fell further behind on a
            // busy machine, its queue filled and calls were throttled.
            tokio::select! {
                () = tokio::time::sleep(config.linger) => {}
                () = flush_requested.notified() => {}
            }
            // The batch is committed next either way: a flush among these only ends it.
            fill(&mut rx, &mut batch, &mut waiting, max_batch);
        }
        let bytes: usize = batch.iter().map(PreparedAuditEvent::size).sum();
        batch = commit_with_retry(store.as_ref(), batch).await;
        queued_bytes.fetch_sub(bytes, Ordering::Relaxed);
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

/// Adds what is queued to the batch, up to `max_batch` events and without waiting; true
/// if a message asks for a flush (the batch then ends there).
fn fill(
    rx: &mut mpsc::Receiver<Msg>,
    batch: &mut Vec<PreparedAuditEvent>,
    waiting: &mut Vec<oneshot::Sender<()>>,
    max_batch: usize,
) -> bool {
    while batch.len() < max_batch {
        match rx.try_recv() {
            Ok(msg) => {
                if take(msg, batch, waiting) {
                    return true;
                }
            }
            Err(_) => break,
        }
    }
    false
}

/// Adds `msg` to the batch; true if it asks for a flush.
fn take(
    msg: Msg,
    batch: &mut Vec<PreparedAuditEvent>,
    waiting: &mut Vec<oneshot::Sender<()>>,
) -> bool {
    match msg {
        Msg::Event(e, committed) => {
            batch.push(e);
            // Told when the batch commits, as a flush is, but without ending the batch.
            waiting.extend(committed);
            false
        }
        Msg::Flush(done) => {
            waiting.push(done);
            true
        }
    }
}

/// Appends `batch`, retrying until it commits; gives back an empty vector (the
/// batch's allocation when nothing else holds it, to reuse).
async fn commit_with_retry(
    store: &dyn Store,
    batch: Vec<PreparedAuditEvent>,
) -> Vec<PreparedAuditEvent> {
    if batch.is_empty() {
        return batch;
    }
    let batch = Arc::new(batch);
    let mut backoff = Duration::from_millis(10);
    loop {
        match store.append_prepared(batch.clone()).await {
            Ok(()) => break,
            Err(e) => {
                tracing::error!(error = %e, events = batch.len(), "cannot append audit events; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(1));
            }
        }
    }
    match Arc::try_unwrap(batch) {
        Ok(mut events) => {
            events.clear();
            events
        }
        Err(_) => Vec::new(),
    }
}
