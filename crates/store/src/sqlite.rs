//! The SQLite backend: one file, the embedded default.
//!
//! One writer connection and a few reader connections, all in WAL mode with
//! `synchronous=NORMAL`: a commit is in the WAL file before [`Store::commit`] returns, so it
//! survives the process being killed (only an OS crash or power loss can lose the newest
//! commits). Every write transaction is `BEGIN IMMEDIATE`, which serializes writers across
//! connections and processes, so seqs are gap-free and the audit chain is linear. SQLite
//! calls run on tokio's blocking pool.
//!
//! Handles opened on the same file in one process share a notifier, so
//! [`Store::wait_for_changes`] wakes up as soon as any of them commits; commits made by
//! other processes are found by polling the file every 200 ms.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard};
use std::time::Duration;

use rusqlite::{Connection, OptionalExtension, TransactionBehavior, params};
use tokio::sync::watch;

use crate::audit::{GENESIS_DIGEST, PreparedAuditEvent, SqlArg};
use crate::common::{
    AUDIT_COLUMNS, AuditRow, CHANGE_COLUMNS, RECORD_COLUMNS, RowLike, Step, announce,
    change_from_row, into_page, joined, link, lookup_sql, record_from_row, reset_change,
    wait_for_seq,
};
use crate::migrations;
use crate::{
    AuditHead, AuditPage, AuditQuery, AuditSeal, Batch, Change, OpenOptions, Snapshot, Store,
    StoreError, StoredAuditEvent,
};

/// How often [`Store::wait_for_changes`] looks at the file for other processes' commits.
const POLL_EVERY: Duration = Duration::from_millis(200);
/// Idle reader connections kept open.
const MAX_IDLE_READERS: usize = 4;
/// How long a connection waits for another one's write lock before failing.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);
/// Page cache of the writer connection, in KiB (SQLite's default is 2 MB): the audit
/// indexes' hot pages stay in memory as the trail grows.
const WRITER_CACHE_KIB: i64 = 32 * 1024;
/// How long the checkpointer waits after a commit before copying the WAL into the
/// database: long enough that one checkpoint covers several commits (the pages every
/// commit rewrites, page 1 and the B-trees' interior pages, are copied once for all of
/// them: 40 ms instead of 20 cut a KMS call's server CPU by 5%), short enough that each
/// copies little (a checkpoint of 200 ms of writes held a core for several milliseconds,
/// and requests waited for it on a two-core machine).
const CHECKPOINT_EVERY: Duration = Duration::from_millis(40);
/// Page size of a new database file (SQLite's default is 4096; an existing file keeps
/// its own). The audit trail is most of what is written, rows of about a kilobyte in
/// three to six B-trees, and SQLite writes and checkpoints its WAL a page at a time: with
/// 16 KiB pages a KMS call cost 0.7 `pwrite`s and 0.2 `pread`s instead of 1.6 and 0.5.
const PAGE_SIZE: i64 = 16 * 1024;

/// Per file (canonical path): the latest seq committed by any handle of this process.
static NOTIFIERS: LazyLock<Mutex<HashMap<PathBuf, Arc<watch::Sender<i64>>>>> =
    LazyLock::new(Default::default);

/// The SQLite [`Store`].
pub struct SqliteStore {
    inner: Arc<Inner>,
}

struct Inner {
    path: PathBuf,
    writer: Mutex<Connection>,
    readers: Mutex<Vec<Connection>>,
    notify: Arc<watch::Sender<i64>>,
    /// Wakes the checkpointer thread after a commit; dropping it ends the thread.
    checkpoint: std::sync::mpsc::SyncSender<()>,
    /// Seals the anchored head at every append.
    audit_seal: Option<AuditSeal>,
}

/// Checkpoints the WAL of `path` (PASSIVE: never blocks the writer or readers) a little
/// after commits, on its own connection and thread, so that the writer's commits do not
/// pay for checkpoints (the writer connection's automatic checkpoint is off). Ends when
/// the store is dropped.
fn spawn_checkpointer(path: &Path) -> Result<std::sync::mpsc::SyncSender<()>, StoreError> {
    let conn = connect(path)?;
    let (tx, rx) = std::sync::mpsc::sync_channel::<()>(1);
    std::thread::Builder::new()
        .name("rampart-sqlite-checkpoint".into())
        .spawn(move || {
            while rx.recv().is_ok() {
                std::thread::sleep(CHECKPOINT_EVERY);
                // Commits made while sleeping are covered by this checkpoint.
                while rx.try_recv().is_ok() {}
                if let Err(error) = conn.query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                {
                    tracing::warn!(%error, "SQLite WAL checkpoint failed");
                }
            }
        })
        .map_err(|source| StoreError::Io {
            path: path.to_owned(),
            source,
        })?;
    Ok(tx)
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A panic while holding the lock rolled its transaction back (Transaction's Drop).
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Makes the database file (created empty if missing, for SQLite to fill) and its
/// `-wal` and `-shm` files, where they exist, readable and writable by their owner only:
/// they hold every record, and the audit trail.
fn owner_only(path: &Path) -> Result<(), StoreError> {
    use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
    let io = |path: &Path| {
        let path = path.to_owned();
        move |source| StoreError::Io { path, source }
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o600)
        .open(path)
        .map_err(io(path))?;
    for suffix in ["", "-wal", "-shm"] {
        let mut file = path.as_os_str().to_owned();
        file.push(suffix);
        let file = PathBuf::from(file);
        match std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            result => result.map_err(io(&file))?,
        }
    }
    Ok(())
}

fn connect(path: &Path) -> Result<Connection, StoreError> {
    let conn = Connection::open(path)?;
    conn.busy_timeout(BUSY_TIMEOUT)?;
    // Before WAL mode, which writes a new file's header with the page size.
    conn.pragma_update(None, "page_size", PAGE_SIZE)?;
    let mode: String = conn.query_row("PRAGMA journal_mode=WAL", [], |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        return Err(StoreError::InvalidConfig(format!(
            "{}: SQLite refused WAL mode (journal_mode is {mode})",
            path.display()
        )));
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    Ok(conn)
}

impl SqliteStore {
    /// Opens (creating and migrating as needed) the database file at `path`.
    pub async fn open(path: impl AsRef<Path>, options: &OpenOptions) -> Result<Self, StoreError> {
        let path = path.as_ref().to_owned();
        let audit_seal = options.audit_seal.clone();
        let inner = tokio::task::spawn_blocking(move || -> Result<Inner, StoreError> {
            owner_only(&path)?;
            let mut writer = connect(&path)?;
            // SQLite gives `-wal` and `-shm` the database file's mode; files an older
            // rampart left readable are tightened too.
            owner_only(&path)?;
            migrate(&mut writer)?;
            writer.pragma_update(None, "cache_size", -WRITER_CACHE_KIB)?;
            writer.pragma_update(None, "wal_autocheckpoint", 0)?;
            // A statement journal (the pages a statement changes that its transaction had
            // already changed, kept in case the statement fails alone), when a statement
            // needs one, in memory: not in a temporary file written a page at a time,
            // which took as many `pwrite`s as the WAL itself when the audit append still
            // kept one.
            writer.pragma_update(None, "temp_store", "MEMORY")?;
            let checkpoint = spawn_checkpointer(&path)?;
            let canonical = std::fs::canonicalize(&path).map_err(|source| StoreError::Io {
                path: path.clone(),
                source,
            })?;
            let latest = max_seq(&writer)?;
            let notify = lock(&NOTIFIERS)
                .entry(canonical)
                .or_insert_with(|| Arc::new(watch::channel(0).0))
                .clone();
            announce(&notify, latest);
            Ok(Inner {
                path,
                writer: Mutex::new(writer),
                readers: Mutex::new(Vec::new()),
                notify,
                checkpoint,
                audit_seal,
            })
        })
        .await;
        Ok(SqliteStore {
            inner: Arc::new(joined(inner)?),
        })
    }

    /// The database file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `f` on the writer connection, on the blocking pool.
    async fn write<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        joined(
            tokio::task::spawn_blocking(move || {
                let out = f(&mut lock(&inner.writer));
                // Full: a checkpoint is already due.
                let _ = inner.checkpoint.try_send(());
                out
            })
            .await,
        )
    }

    /// Runs `f` on a reader connection, on the blocking pool.
    async fn read<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Connection) -> Result<T, StoreError> + Send + 'static,
    ) -> Result<T, StoreError> {
        let inner = self.inner.clone();
        joined(
            tokio::task::spawn_blocking(move || {
                let idle = lock(&inner.readers).pop();
                let mut conn = match idle {
                    Some(c) => c,
                    None => {
                        let c = connect(&inner.path)?;
                        c.pragma_update(None, "query_only", true)?;
                        c
                    }
                };
                let out = f(&mut conn);
                let mut idle = lock(&inner.readers);
                if idle.len() < MAX_IDLE_READERS {
                    idle.push(conn);
                }
                out
            })
            .await,
        )
    }
}

fn migrate(conn: &mut Connection) -> Result<(), StoreError> {
    conn.execute_batch(migrations::CREATE_SCHEMA_MIGRATIONS)?;
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let applied: Vec<i64> = tx
        .prepare("SELECT version FROM schema_migrations")?
        .query_map([], |r| r.get(0))?
        .collect::<Result<_, _>>()?;
    for m in migrations::pending(migrations::SQLITE, &applied)? {
        tx.execute_batch(m.sql).map_err(|e| StoreError::Migration {
            version: m.version,
            message: e.to_string(),
        })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?1, ?2, ?3)",
            params![m.version, m.name, chrono::Utc::now().to_rfc3339()],
        )?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied SQLite migration"
        );
    }
    tx.commit()?;
    Ok(())
}

fn max_seq(conn: &Connection) -> Result<i64, StoreError> {
    Ok(
        conn.query_row("SELECT COALESCE(MAX(seq), 0) FROM changes", [], |r| {
            r.get(0)
        })?,
    )
}

impl RowLike for rusqlite::Row<'_> {
    fn i64(&self, idx: usize) -> Result<i64, StoreError> {
        Ok(self.get(idx)?)
    }
    fn opt_i64(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.get(idx)?)
    }
    fn text(&self, idx: usize) -> Result<String, StoreError> {
        Ok(self.get(idx)?)
    }
    fn opt_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        Ok(self.get(idx)?)
    }
    fn bool(&self, idx: usize) -> Result<bool, StoreError> {
        Ok(self.get(idx)?)
    }
}

/// Runs `sql` and decodes every row with `decode`.
fn query_all<T>(
    conn: &Connection,
    sql: &str,
    params: impl rusqlite::Params,
    decode: impl Fn(&rusqlite::Row<'_>) -> Result<T, StoreError>,
) -> Result<Vec<T>, StoreError> {
    let mut stmt = conn.prepare_cached(sql)?;
    let mut rows = stmt.query(params)?;
    let mut out = Vec::new();
    while let Some(row) = rows.next()? {
        out.push(decode(row)?);
    }
    Ok(out)
}

/// Rows per multi-row `INSERT` of the audit append. SQLite finishes a statement at a cost
/// of a few thousand instructions, more than what inserting one event's row itself
/// takes; a batch goes in statements of this many rows, and its rest a row at a time.
const AUDIT_ROWS_PER_INSERT: usize = 32;

/// The statements that insert rows into `table (columns)`: one row, and
/// [`AUDIT_ROWS_PER_INSERT`] rows. `OR ROLLBACK`: a row that breaks a constraint rolls
/// the whole transaction back (what the append does on any error anyway), so SQLite
/// keeps no statement journal to undo a statement alone.
struct MultiInsert {
    one: String,
    many: String,
    columns: usize,
}

impl MultiInsert {
    fn new(table: &str) -> MultiInsert {
        let columns = table.matches(',').count() + 1;
        let row = format!("({})", vec!["?"; columns].join(", "));
        let sql = |rows| {
            format!(
                "INSERT OR ROLLBACK INTO {table} VALUES {}",
                vec![row.as_str(); rows].join(", ")
            )
        };
        MultiInsert {
            one: sql(1),
            many: sql(AUDIT_ROWS_PER_INSERT),
            columns,
        }
    }

    /// Inserts `rows`, [`AUDIT_ROWS_PER_INSERT`] a statement and the rest one at a time;
    /// `bind(stmt, first, row)` binds a row's values to the parameters from `first`
    /// (1-based) on.
    fn run<T>(
        &self,
        tx: &rusqlite::Transaction<'_>,
        rows: &[T],
        bind: impl Fn(&mut rusqlite::Statement<'_>, usize, &T) -> rusqlite::Result<()>,
    ) -> Result<(), StoreError> {
        let mut chunks = rows.chunks_exact(AUDIT_ROWS_PER_INSERT);
        if chunks.len() > 0 {
            let mut stmt = tx.prepare_cached(&self.many)?;
            for chunk in &mut chunks {
                for (i, row) in chunk.iter().enumerate() {
                    bind(&mut stmt, 1 + i * self.columns, row)?;
                }
                stmt.raw_execute()?;
            }
        }
        if !chunks.remainder().is_empty() {
            let mut stmt = tx.prepare_cached(&self.one)?;
            for row in chunks.remainder() {
                bind(&mut stmt, 1, row)?;
                stmt.raw_execute()?;
            }
        }
        Ok(())
    }
}

/// `seq` is not among the columns: SQLite gives each row the next rowid (one more than
/// the largest), which is the seq [`link`] computed, and [`append_audit_tx`] checks that
/// it did. An explicit rowid would make SQLite keep a statement journal (a copy of every
/// page the statement changes) in case the value turned out not to be an integer.
static INSERT_AUDIT_EVENTS: LazyLock<MultiInsert> = LazyLock::new(|| {
    MultiInsert::new(
        "audit_events (event_id, event_time, account_id, event_name, event_source, \
         username, access_key_id, read_only, resources, record, prev_digest, digest)",
    )
});
static INSERT_AUDIT_RESOURCES: LazyLock<MultiInsert> =
    LazyLock::new(|| MultiInsert::new("audit_resources (seq, resource_type, resource_name)"));

/// The `audit_head` row, if there is one.
fn anchored_head(conn: &Connection) -> Result<Option<AuditHead>, StoreError> {
    Ok(conn
        .prepare_cached("SELECT seq, digest, seal FROM audit_head WHERE id = 1")?
        .query_row([], |r| {
            Ok(AuditHead {
                seq: r.get(0)?,
                digest: r.get(1)?,
                seal: r.get(2)?,
            })
        })
        .optional()?)
}

/// Appends `events` to the chain inside the write transaction `tx`, from the anchored head
/// (which must still be the trail's last event), and moves the head to the new last event.
fn append_audit_tx(
    tx: &rusqlite::Transaction<'_>,
    events: &[PreparedAuditEvent],
    seal: Option<&AuditSeal>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let last: Option<(i64, String)> = tx
        .prepare_cached("SELECT seq, digest FROM audit_events ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    AuditHead::check_trail_end(
        anchored_head(tx)?.as_ref(),
        last.as_ref().map(|(seq, digest)| (*seq, digest.as_str())),
    )?;
    let (head_seq, head_digest) = last.unwrap_or((0, GENESIS_DIGEST.to_owned()));
    let links = link(head_seq, &head_digest, events);
    let rows: Vec<_> = events.iter().zip(&links).collect();
    INSERT_AUDIT_EVENTS.run(tx, &rows, |stmt, first, (e, l)| {
        stmt.raw_bind_parameter(first, e.event_id())?;
        stmt.raw_bind_parameter(first + 1, e.event_time)?;
        stmt.raw_bind_parameter(first + 2, e.account_id())?;
        stmt.raw_bind_parameter(first + 3, e.event_name())?;
        stmt.raw_bind_parameter(first + 4, e.event_source())?;
        stmt.raw_bind_parameter(first + 5, e.username())?;
        stmt.raw_bind_parameter(first + 6, e.access_key_id())?;
        stmt.raw_bind_parameter(first + 7, e.read_only)?;
        stmt.raw_bind_parameter(first + 8, e.resources_text())?;
        stmt.raw_bind_parameter(first + 9, e.record_text())?;
        stmt.raw_bind_parameter(first + 10, &l.prev_digest)?;
        stmt.raw_bind_parameter(first + 11, &l.digest)
    })?;
    let last_seq = links.last().map_or(head_seq, |l| l.seq);
    if tx.last_insert_rowid() != last_seq {
        // Dropping `tx` rolls the append back.
        return Err(StoreError::Corrupt(format!(
            "audit append: SQLite gave the last event rowid {}, its seq is {last_seq}",
            tx.last_insert_rowid()
        )));
    }
    let resources: Vec<(i64, &str, &str)> = events
        .iter()
        .zip(&links)
        .flat_map(|(e, l)| e.resources().map(move |(t, n)| (l.seq, t, n)))
        .collect();
    INSERT_AUDIT_RESOURCES.run(tx, &resources, |stmt, first, (seq, t, n)| {
        stmt.raw_bind_parameter(first, seq)?;
        stmt.raw_bind_parameter(first + 1, t)?;
        stmt.raw_bind_parameter(first + 2, n)
    })?;
    let last_digest = links.last().map_or(head_digest.as_str(), |l| &l.digest);
    let head = AuditHead::new(last_seq, last_digest, seal);
    tx.prepare_cached(
        "INSERT INTO audit_head (id, seq, digest, seal) VALUES (1, ?1, ?2, ?3) \
         ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, digest = excluded.digest, \
         seal = excluded.seal",
    )?
    .execute(params![head.seq, head.digest, head.seal])?;
    Ok(())
}

fn commit_batch(
    conn: &mut Connection,
    batch: Batch,
    seal: Option<&AuditSeal>,
) -> Result<Vec<Change>, StoreError> {
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    let mut seq = max_seq(&tx)?;
    let mut changes = Vec::with_capacity(batch.mutations.len());
    for m in &batch.mutations {
        let (kind, id) = m.key();
        let current: Option<i64> = tx
            .prepare_cached("SELECT version FROM records WHERE kind = ?1 AND id = ?2")?
            .query_row(params![kind, id], |r| r.get(0))
            .optional()?;
        // On a conflict, `tx` is dropped: everything is rolled back.
        let Some(step) = Step::plan(m, current)? else {
            continue;
        };
        seq += 1;
        let stored = step.stored();
        match &stored {
            Some((version, value)) => tx
                .prepare_cached(
                    "INSERT INTO records (kind, id, version, value) VALUES (?1, ?2, ?3, ?4) \
                     ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, \
                     value = excluded.value",
                )?
                .execute(params![kind, id, version, value])?,
            None => tx
                .prepare_cached("DELETE FROM records WHERE kind = ?1 AND id = ?2")?
                .execute(params![kind, id])?,
        };
        let (version, value) = stored.unzip();
        tx.prepare_cached(
            "INSERT INTO changes (seq, kind, id, version, value) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?
        .execute(params![seq, kind, id, version, value])?;
        changes.push(step.change(seq));
    }
    let audit: Vec<PreparedAuditEvent> = batch.audit.into_iter().map(Into::into).collect();
    append_audit_tx(&tx, &audit, seal)?;
    tx.commit()?;
    Ok(changes)
}

fn to_sqlite(arg: SqlArg) -> rusqlite::types::Value {
    match arg {
        SqlArg::I64(i) => rusqlite::types::Value::Integer(i),
        SqlArg::Text(s) => rusqlite::types::Value::Text(s),
        SqlArg::Bool(b) => rusqlite::types::Value::Integer(b.into()),
    }
}

#[async_trait::async_trait]
impl Store for SqliteStore {
    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        self.read(|conn| {
            // One read transaction: the records and the seq come from the same snapshot.
            let tx = conn.transaction()?;
            let seq = max_seq(&tx)?;
            let records = query_all(
                &tx,
                &format!("SELECT {RECORD_COLUMNS} FROM records ORDER BY kind, id"),
                [],
                |r| record_from_row(r),
            )?;
            Ok(Snapshot { records, seq })
        })
        .await
    }

    async fn commit(&self, batch: Batch) -> Result<Vec<Change>, StoreError> {
        if batch.mutations.is_empty() && batch.audit.is_empty() {
            return Ok(Vec::new());
        }
        let seal = self.inner.audit_seal.clone();
        let changes = self
            .write(move |conn| commit_batch(conn, batch, seal.as_ref()))
            .await?;
        if let Some(last) = changes.last() {
            announce(&self.inner.notify, last.seq);
        }
        Ok(changes)
    }

    async fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > ?1 ORDER BY seq LIMIT ?2"
                ),
                params![after, limit],
                |r| change_from_row(r),
            )
        })
        .await
    }

    async fn wait_for_changes(&self, after: i64, timeout: Duration) -> Result<(), StoreError> {
        let rx = self.inner.notify.subscribe();
        wait_for_seq(rx, after, timeout, POLL_EVERY, || {
            self.read(|conn| max_seq(conn))
        })
        .await
    }

    async fn append_prepared(
        &self,
        events: Arc<Vec<PreparedAuditEvent>>,
    ) -> Result<(), StoreError> {
        if events.is_empty() {
            return Ok(());
        }
        let seal = self.inner.audit_seal.clone();
        self.write(move |conn| {
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            append_audit_tx(&tx, &events, seal.as_ref())?;
            Ok(tx.commit()?)
        })
        .await
    }

    async fn lookup_audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        let plan = query.plan()?;
        let (sql, args) = lookup_sql(&query, &plan, |i| format!("?{i}"));
        let args: Vec<rusqlite::types::Value> = args.into_iter().map(to_sqlite).collect();
        let events = self
            .read(move |conn| {
                query_all(conn, &sql, rusqlite::params_from_iter(args), |r| {
                    AuditRow::read(r)?.into_stored()
                })
            })
            .await?;
        Ok(into_page(&query, &plan, events))
    }

    async fn audit_chain(
        &self,
        after_seq: i64,
        limit: usize,
    ) -> Result<Vec<StoredAuditEvent>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.read(move |conn| {
            query_all(
                conn,
                &format!(
                    "SELECT {AUDIT_COLUMNS} FROM audit_events a WHERE a.seq > ?1 \
                     ORDER BY a.seq LIMIT ?2"
                ),
                params![after_seq, limit],
                |r| AuditRow::read(r)?.into_stored(),
            )
        })
        .await
    }

    async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        self.read(|conn| anchored_head(conn)).await
    }

    async fn audit_resource_rows(
        &self,
        after_seq: i64,
        up_to_seq: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        self.read(move |conn| {
            query_all(
                conn,
                "SELECT seq, resource_type, resource_name FROM audit_resources \
                 WHERE seq > ?1 AND seq <= ?2",
                params![after_seq, up_to_seq],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
        })
        .await
    }

    async fn reset(&self) -> Result<(), StoreError> {
        let seq = self
            .write(|conn| {
                let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
                let seq = max_seq(&tx)? + 1;
                tx.execute_batch(
                    "DELETE FROM records; DELETE FROM changes; \
                     DELETE FROM audit_resources; DELETE FROM audit_events; \
                     DELETE FROM audit_head;",
                )?;
                let marker = reset_change(seq);
                tx.execute(
                    "INSERT INTO changes (seq, kind, id) VALUES (?1, ?2, ?3)",
                    params![marker.seq, marker.kind, marker.id],
                )?;
                tx.commit()?;
                Ok(seq)
            })
            .await?;
        announce(&self.inner.notify, seq);
        Ok(())
    }
}
