//! rampart's persistence: a table of records, a gap-free change feed that replicas follow,
//! the audit trail with its digest chain, and the master key that seals secrets at rest.
//!
//! rampart keeps its control-plane state in memory in every replica, as a materialized
//! view of the store. A replica starts from [`Store::snapshot`], then loops on
//! [`Store::wait_for_changes`] and [`Store::changes_since`]. Writes go through
//! [`Store::commit`]: a [`Batch`] of [`Mutation`]s, each with an optimistic-concurrency
//! [`Expect`], plus the [`AuditEvent`]s that record the call, in one transaction. Calls that
//! change nothing are recorded through an [`AuditWriter`], which group-commits them.
//!
//! Two backends implement [`Store`]: [`SqliteStore`] (one file, the embedded default) and
//! [`PostgresStore`] (several replicas on one database). [`open`] picks one from a URL.
//!
//! ```
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> Result<(), rampart_store::StoreError> {
//! use rampart_store::{Batch, Expect, Mutation};
//!
//! let dir = tempfile::tempdir().unwrap();
//! let store = rampart_store::open(dir.path().join("rampart.db").to_str().unwrap()).await?;
//! let changes = store
//!     .commit(Batch {
//!         mutations: vec![Mutation::Put {
//!             kind: "iam.user".into(),
//!             id: "alice".into(),
//!             value: serde_json::json!({"arn": "arn:aws:iam::123456789012:user/alice"}),
//!             expect: Expect::Absent,
//!         }],
//!         audit: vec![],
//!     })
//!     .await?;
//! assert_eq!(changes[0].seq, 1);
//! assert_eq!(changes[0].record.as_ref().unwrap().version, 1);
//!
//! let snapshot = store.snapshot().await?;
//! assert_eq!((snapshot.records.len(), snapshot.seq), (1, 1));
//! # Ok(())
//! # }
//! ```
//!
//! Invariants every backend keeps:
//! - change seqs are 1, 2, 3... in commit order, without gaps (writers are serialized);
//!   only [`Store::reset`] removes changes, and it leaves a [`RESET_KIND`] change behind;
//! - a batch is all or nothing: records, changes and audit events commit together;
//! - audit seqs are gap-free and every event's digest links to the one before it.

mod audit;
mod audit_head;
mod audit_writer;
mod common;
mod error;
mod key;
mod migrations;
mod postgres;
mod sqlite;

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use audit::{
    AuditEvent, AuditPage, AuditQuery, BreakReason, ChainBreak, GENESIS_DIGEST, LookupAttribute,
    PreparedAuditEvent, StoredAuditEvent, VerifyReport, canonical_json, chain_digest,
    verify_audit_chain, write_canonical_json, write_json_string,
};
pub use audit_head::{AuditHead, AuditSeal};
pub use audit_writer::{AuditWriter, AuditWriterConfig, QueueError, RecordError};
pub use error::StoreError;
pub use key::MasterKey;
pub use postgres::PostgresStore;
pub use sqlite::SqliteStore;

/// The `kind` of the change that [`Store::reset`] leaves in the feed. A replica that sees
/// it drops its view and reloads [`Store::snapshot`].
pub const RESET_KIND: &str = "_rampart.reset";

/// One stored entity; `value` is the service's JSON. Secrets inside it are already sealed
/// by the caller (see [`MasterKey`]).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    /// Entity type, e.g. `iam.user`.
    pub kind: String,
    /// Identity within the kind.
    pub id: String,
    /// 1 when created, +1 at every put.
    pub version: i64,
    /// The service's JSON.
    pub value: serde_json::Value,
}

/// Optimistic-concurrency condition of one mutation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Expect {
    /// No condition.
    Any,
    /// The record must not exist.
    Absent,
    /// The record must exist at exactly this version.
    Version(i64),
}

impl Expect {
    /// Whether the condition holds for a record currently at `current` (`None`: absent).
    pub fn holds(self, current: Option<i64>) -> bool {
        match self {
            Expect::Any => true,
            Expect::Absent => current.is_none(),
            Expect::Version(v) => current == Some(v),
        }
    }
}

/// One write of a [`Batch`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Mutation {
    /// Creates the record (version 1) or replaces it (version + 1).
    Put {
        /// Entity type.
        kind: String,
        /// Identity within the kind.
        id: String,
        /// New value.
        value: serde_json::Value,
        /// Condition on the current version.
        expect: Expect,
    },
    /// Removes the record. Deleting an absent record (with [`Expect::Any`] or
    /// [`Expect::Absent`]) writes nothing and produces no change.
    Delete {
        /// Entity type.
        kind: String,
        /// Identity within the kind.
        id: String,
        /// Condition on the current version.
        expect: Expect,
    },
}

impl Mutation {
    /// `(kind, id)` of the record it writes.
    pub fn key(&self) -> (&str, &str) {
        match self {
            Mutation::Put { kind, id, .. } | Mutation::Delete { kind, id, .. } => (kind, id),
        }
    }
}

/// Mutations and the audit events that record them, committed in one transaction.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// Applied in order; a later mutation sees the earlier ones.
    pub mutations: Vec<Mutation>,
    /// Appended to the audit chain in order.
    pub audit: Vec<AuditEvent>,
}

/// One entry of the change feed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Change {
    /// Position in the feed: gap-free, in commit order.
    pub seq: i64,
    /// Kind of the record ([`RESET_KIND`] for a reset).
    pub kind: String,
    /// Id of the record.
    pub id: String,
    /// The record as written; `None` when deleted (or for a reset).
    pub record: Option<Record>,
}

impl Change {
    /// Whether this change is a [`Store::reset`]: drop the view and reload the snapshot.
    pub fn is_reset(&self) -> bool {
        self.kind == RESET_KIND
    }
}

/// Every record, consistent with the change feed up to `seq`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    /// All records, ordered by `(kind, id)`.
    pub records: Vec<Record>,
    /// The last change seq included (0 for an empty store); follow with
    /// `changes_since(seq, ..)`.
    pub seq: i64,
}

/// The store: records, change feed and audit trail. Both backends implement it; use it as
/// `Arc<dyn Store>`.
#[async_trait::async_trait]
pub trait Store: Send + Sync + 'static {
    /// Every record and the change seq it is consistent with (used at start-up).
    async fn snapshot(&self) -> Result<Snapshot, StoreError>;

    /// Atomically applies every mutation (each put bumps the version; new records get
    /// version 1) and appends the audit events, in one transaction. If any [`Expect`]
    /// fails, nothing is written and [`StoreError::Conflict`] names the record. Returns the
    /// changes it produced, with their seqs.
    async fn commit(&self, batch: Batch) -> Result<Vec<Change>, StoreError>;

    /// Changes with `seq > after`, in order, at most `limit`.
    async fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<Change>, StoreError>;

    /// Resolves when changes after `after` may exist, or when `timeout` passes. Wakes up for
    /// commits of any handle on the same database (PostgreSQL: LISTEN/NOTIFY; SQLite:
    /// in-process notification, and a poll of the file for other processes).
    async fn wait_for_changes(
        &self,
        after: i64,
        timeout: std::time::Duration,
    ) -> Result<(), StoreError>;

    /// Appends audit events that record no change (read-only and denied calls), in one
    /// transaction. Prefer an [`AuditWriter`] on request paths.
    async fn append_audit(&self, events: Vec<AuditEvent>) -> Result<(), StoreError> {
        self.append_prepared(Arc::new(events.into_iter().map(Into::into).collect()))
            .await
    }

    /// [`Store::append_audit`] for events already rendered (what [`AuditWriter`] keeps):
    /// shared, so a retry after a failed commit does not copy them.
    async fn append_prepared(&self, events: Arc<Vec<PreparedAuditEvent>>)
    -> Result<(), StoreError>;

    /// CloudTrail `LookupEvents`: newest first, filtered, paginated.
    async fn lookup_audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError>;

    /// The audit chain in seq order: events with `seq > after_seq`, at most `limit`.
    async fn audit_chain(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredAuditEvent>, StoreError>;

    /// The audit trail's anchored head (`None` while the trail is empty).
    async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError>;

    /// The rows of LookupEvents' resource index (`audit_resources`) whose seq is in
    /// `(after_seq, up_to_seq]`, in no particular order: what `audit verify` compares with
    /// the events' own resources.
    async fn audit_resource_rows(
        &self,
        after_seq: i64,
        up_to_seq: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError>;

    /// Empties all state: records, change feed and audit trail. Leaves one change of kind
    /// [`RESET_KIND`] in the feed (seqs keep growing), so replicas reload their snapshot.
    async fn reset(&self) -> Result<(), StoreError>;
}

/// Options for [`open_with`].
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct OpenOptions {
    /// PostgreSQL: the schema to keep rampart's tables in (created if missing; every
    /// connection's `search_path` is set to it). `None`: the URL's own `search_path`
    /// (`options=-csearch_path%3D...`), else `public`.
    pub postgres_schema: Option<String>,
    /// PostgreSQL: connections in the pool (default 8).
    pub postgres_pool_size: Option<usize>,
    /// Seals the audit trail's anchored head at every append ([`MasterKey::audit_seal`]).
    /// `None` writes the head unsealed: `audit verify` then sees a cut trail, but not a
    /// cut trail whose head was rewritten to match.
    pub audit_seal: Option<AuditSeal>,
}

impl OpenOptions {
    /// Sets [`OpenOptions::postgres_schema`].
    pub fn postgres_schema(mut self, schema: impl Into<String>) -> Self {
        self.postgres_schema = Some(schema.into());
        self
    }

    /// Sets [`OpenOptions::audit_seal`].
    pub fn audit_seal(mut self, seal: AuditSeal) -> Self {
        self.audit_seal = Some(seal);
        self
    }
}

/// Opens (creating and migrating as needed) the store at `url`: `sqlite:///path/to/rampart.db`,
/// `sqlite:relative/path.db`, a plain file path, or `postgres://...` / `postgresql://...`.
pub async fn open(url: &str) -> Result<Arc<dyn Store>, StoreError> {
    open_with(url, OpenOptions::default()).await
}

/// [`open`] with options.
pub async fn open_with(url: &str, options: OpenOptions) -> Result<Arc<dyn Store>, StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok(Arc::new(PostgresStore::connect(url, &options).await?));
    }
    let path = if let Some(rest) = url.strip_prefix("sqlite://") {
        rest
    } else if let Some(rest) = url.strip_prefix("sqlite:") {
        rest
    } else if url.contains("://") || url.is_empty() {
        return Err(StoreError::UnsupportedUrl(url.to_owned()));
    } else {
        url
    };
    Ok(Arc::new(SqliteStore::open(path, &options).await?))
}
