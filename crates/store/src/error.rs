//! The one error type of this crate.

use std::path::PathBuf;

/// Everything that can go wrong in the store, as kinds a caller matches on without
/// parsing text.
///
/// Map them to AWS errors in the service layer: [`StoreError::Conflict`] is a lost
/// optimistic-concurrency race (retry the operation, or answer `ConcurrentModification`),
/// [`StoreError::InvalidToken`] is CloudTrail's `InvalidNextTokenException`, and
/// [`StoreError::InvalidQuery`] is a `LookupEvents` argument the caller should have
/// rejected itself. Everything else is an internal error.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// An [`Expect`](crate::Expect) of a batch did not hold; nothing was written.
    #[error("conflict on {kind}/{id}: the record changed since it was read; nothing was written")]
    Conflict {
        /// Kind of the record whose expectation failed.
        kind: String,
        /// Id of the record whose expectation failed.
        id: String,
    },

    /// A pagination token that this store did not issue, or issued for another query.
    #[error("invalid pagination token")]
    InvalidToken,

    /// A query argument out of range (for example `max_results` of 0 or more than 50,
    /// or a `ReadOnly` lookup value that is neither `true` nor `false`).
    #[error("invalid query: {0}")]
    InvalidQuery(String),

    /// The database said no (connection lost, disk full, constraint violated...).
    #[error("database error: {0}")]
    Backend(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),

    /// A schema migration failed, or the database was migrated by a newer rampart.
    #[error("schema migration {version} failed: {message}")]
    Migration {
        /// Migration version that failed (or the newest one found in the database).
        version: i64,
        /// What went wrong.
        message: String,
    },

    /// Stored data that cannot be decoded (hand-edited rows, a JSON column that is not JSON...).
    #[error("corrupt data in the store: {0}")]
    Corrupt(String),

    /// The URL passed to [`open`](crate::open) is neither a SQLite path nor a PostgreSQL URL.
    #[error(
        "unsupported store URL {0:?}: use sqlite:///path/to/rampart.db, a file path, or postgres://..."
    )]
    UnsupportedUrl(String),

    /// Reading or writing a file (the master key file, the SQLite file's folder).
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },

    /// The master key file exists but cannot be used; `message` says how to fix it.
    #[error("master key file {path}: {message}")]
    KeyFile {
        /// The key file.
        path: PathBuf,
        /// What is wrong and what to do.
        message: String,
    },

    /// A sealed secret failed to open: malformed, unknown version, tampered with,
    /// sealed under another key or with other associated data.
    #[error("sealed value cannot be opened: {0}")]
    Unseal(&'static str),

    /// The OS random number generator failed.
    #[error("OS random number generator failed: {0}")]
    Random(String),

    /// A configuration value that cannot be used (for example a PostgreSQL schema name
    /// that is not a plain identifier).
    #[error("invalid store configuration: {0}")]
    InvalidConfig(String),

    /// The [`AuditWriter`](crate::AuditWriter)'s background task has stopped.
    #[error("the audit writer has stopped")]
    Closed,
}

impl StoreError {
    pub(crate) fn backend<E: std::error::Error + Send + Sync + 'static>(e: E) -> Self {
        StoreError::Backend(Box::new(e))
    }

    pub(crate) fn conflict(kind: &str, id: &str) -> Self {
        StoreError::Conflict {
            kind: kind.to_owned(),
            id: id.to_owned(),
        }
    }
}

impl From<rusqlite::Error> for StoreError {
    fn from(e: rusqlite::Error) -> Self {
        StoreError::backend(e)
    }
}

impl From<tokio_postgres::Error> for StoreError {
    fn from(e: tokio_postgres::Error) -> Self {
        StoreError::backend(e)
    }
}

impl From<deadpool_postgres::PoolError> for StoreError {
    fn from(e: deadpool_postgres::PoolError) -> Self {
        StoreError::backend(e)
    }
}
