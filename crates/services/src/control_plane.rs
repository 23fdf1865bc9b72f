//! The control plane of one rampart replica: the store, the master key, and the
//! in-memory [`View`] that follows the store's change feed. Writes go to the store
//! first and reach the view through the feed, in sequence order, whichever replica
//! made them; so every replica converges on the same view.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::RwLock;
use rampart_store::{AuditWriter, Batch, Change, MasterKey, RESET_KIND, Store, StoreError};
use tokio::sync::Mutex;

use crate::caller::Credentials;
use crate::view::{BadRecord, View};

/// How long a replica waits on the change feed before it looks again by itself (which
/// bounds how late it sees a write made by a process that cannot notify it, such as
/// `rampart init` on a SQLite file).
const FEED_POLL: Duration = Duration::from_millis(200);
/// How many changes a replica reads from the feed at a time.
const FEED_PAGE: usize = 1000;

/// Fixed settings of a running replica.
#[derive(Debug, Clone)]
pub struct Settings {
    /// `--dev`: unknown access keys act as the root user of `default_account_id`.
    pub dev: bool,
    /// The account `--dev` maps unknown keys to.
    pub default_account_id: String,
    /// The regions rampart serves (`--region`): a request signed for another is
    /// refused. The first is the one rampart reports itself in.
    pub regions: Vec<String>,
}

impl Settings {
    /// The region rampart reports itself in (unsigned calls are recorded there).
    pub fn region(&self) -> &str {
        self.regions.first().map_or("us-east-1", String::as_str)
    }
}

/// Why the control plane could not do what it was asked.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PlaneError {
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error(transparent)]
    BadRecord(#[from] BadRecord),
}

/// One replica's control plane.
pub struct ControlPlane {
    store: Arc<dyn Store>,
    master_key: MasterKey,
    view: RwLock<View>,
    /// Serializes catch-up so changes are applied once each, in order.
    catching_up: Mutex<()>,
    audit: AuditWriter,
    settings: Settings,
}

impl ControlPlane {
    /// Loads the whole state from `store` into memory.
    pub async fn open(
        store: Arc<dyn Store>,
        master_key: MasterKey,
        settings: Settings,
    ) -> Result<Arc<ControlPlane>, PlaneError> {
        let snapshot = store.snapshot().await?;
        let view = View::from_records(snapshot.records, snapshot.seq, &master_key)?;
        let audit = AuditWriter::spawn(store.clone());
        Ok(Arc::new(ControlPlane {
            store,
            master_key,
            view: RwLock::new(view),
            catching_up: Mutex::new(()),
            audit,
            settings,
        }))
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    pub fn store(&self) -> &Arc<dyn Store> {
        &self.store
    }

    /// The writer that group-commits audit events of calls that change nothing.
    pub fn audit(&self) -> &AuditWriter {
        &self.audit
    }

    /// Reads the view.
    pub fn view(&self) -> parking_lot::RwLockReadGuard<'_, View> {
        self.view.read()
    }

    /// The secret and principal of an active access key.
    pub fn credentials(&self, access_key_id: &str) -> Option<Credentials> {
        self.view.read().credentials(access_key_id)
    }

    /// Seals a secret for storage, bound to `context` (the record it belongs in).
    pub fn seal(&self, secret: &[u8], context: &[u8]) -> String {
        self.master_key.seal(secret, context)
    }

    /// Commits a batch and brings this replica's view up to and including it, so the
    /// caller's next request sees its own write. An error means nothing was written.
    pub async fn commit(&self, batch: Batch) -> Result<(), PlaneError> {
        let changes = self.store.commit(batch).await?;
        // Committed: the call happened. A view that cannot take the changes in now is
        // caught up by the follower (`spawn_follower`), so this is no failure of the call.
        if let Err(error) = self.catch_up_with(changes).await {
            tracing::error!(%error, "committed, but the view could not catch up yet");
        }
        Ok(())
    }

    /// Brings the view up to what the store holds now (after a commit lost a race with
    /// another replica's, say).
    pub async fn catch_up(&self) -> Result<(), PlaneError> {
        self.catch_up_with(Vec::new()).await
    }

    /// Empties the whole state, on every replica (`--dev` only: the server checks).
    pub async fn reset(&self) -> Result<(), PlaneError> {
        self.store.reset().await?;
        self.catch_up_with(Vec::new()).await?;
        crate::bootstrap::ensure_dev_account(self).await
    }

    /// Applies what the feed holds beyond the view, starting with `known` when it
    /// follows on directly (the changes a commit just returned), else from the store.
    async fn catch_up_with(&self, known: Vec<Change>) -> Result<(), PlaneError> {
        let _turn = self.catching_up.lock().await;
        let mut pending = known;
        loop {
            let seq = self.view.read().seq;
            pending.retain(|c| c.seq > seq);
            if pending.first().is_none_or(|c| c.seq != seq + 1) {
                pending = self.store.changes_since(seq, FEED_PAGE).await?;
            }
            if pending.is_empty() {
                return Ok(());
            }
            self.apply(std::mem::take(&mut pending))?;
        }
    }

    fn apply(&self, changes: Vec<Change>) -> Result<(), PlaneError> {
        let mut view = self.view.write();
        let mut changes = changes.into_iter().peekable();
        while changes.peek().is_some() {
            if let Some(reset) = changes.next_if(|c| c.kind == RESET_KIND) {
                *view = View::default();
                view.seq = reset.seq;
                continue;
            }
            let run = std::iter::from_fn(|| changes.next_if(|c| c.kind != RESET_KIND));
            view.apply(run, &self.master_key)?;
        }
        Ok(())
    }

    /// Follows the change feed until the process ends: every change any replica
    /// commits reaches this view within one feed wake-up.
    pub fn spawn_follower(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let plane = Arc::clone(self);
        tokio::spawn(async move {
            loop {
                let seq = plane.view.read().seq;
                if let Err(error) = plane.store.wait_for_changes(seq, FEED_POLL).await {
                    tracing::warn!(%error, "waiting on the change feed failed");
                    tokio::time::sleep(FEED_POLL).await;
                }
                if let Err(error) = plane.catch_up_with(Vec::new()).await {
                    tracing::error!(%error, "applying the change feed failed");
                    tokio::time::sleep(FEED_POLL).await;
                }
            }
        })
    }
}
