//! The PostgreSQL backend: several replicas on one database.
//!
//! Every write transaction starts with `pg_advisory_xact_lock(RAMPART, hashtext(schema))`,
//! so writers from every replica are serialized (per schema): seqs are allocated as
//! `max + 1` under the lock, committed in seq order, and the audit chain stays linear. The
//! same transaction sends `NOTIFY` on a channel named after the schema; each handle keeps
//! one extra connection that `LISTEN`s on it and wakes [`Store::wait_for_changes`]. If that
//! connection drops, it is re-established in the background, and waiters poll the change
//! table every second meanwhile, so a lost notification delays a replica, never stalls it.

use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod};
use sha2::{Digest as _, Sha256};
use tokio::sync::watch;
use tokio_postgres::types::ToSql;
use tokio_postgres::{AsyncMessage, Config, IsolationLevel, NoTls};

use crate::audit::{GENESIS_DIGEST, PreparedAuditEvent, SqlArg};
use crate::common::{
    AUDIT_COLUMNS, AuditRow, CHANGE_COLUMNS, RECORD_COLUMNS, RowLike, Step, announce,
    change_from_row, into_page, link, lookup_sql, record_from_row, reset_change, wait_for_seq,
};
use crate::migrations;
use crate::{
    AuditHead, AuditPage, AuditQuery, AuditSeal, Batch, Change, OpenOptions, Snapshot, Store,
    StoreError, StoredAuditEvent,
};

/// First key of rampart's advisory locks ("ramp").
const LOCK_CLASS: i32 = 0x7261_6d70;
/// Takes the writer lock of the current schema; first statement of every write transaction.
const LOCK_SQL: &str = "SELECT pg_advisory_xact_lock($1, hashtext(COALESCE(current_schema(), '')))";
/// How often waiters look at the change table in case a notification was lost.
const POLL_EVERY: Duration = Duration::from_secs(1);
/// Pause before re-establishing a lost LISTEN connection.
const RELISTEN_AFTER: Duration = Duration::from_secs(1);
/// Default pool size.
const DEFAULT_POOL_SIZE: usize = 8;

type Params = Vec<Box<dyn ToSql + Sync + Send>>;

/// The PostgreSQL [`Store`].
pub struct PostgresStore {
    pool: Pool,
    channel: String,
    notify: Arc<watch::Sender<i64>>,
    /// Seals the anchored head at every append.
    audit_seal: Option<AuditSeal>,
    /// Keeps the LISTEN connection up; aborted (closing it) when the store is dropped.
    _listener: AbortOnDrop,
}

/// Whether `name` can be used as a schema name without quoting or escaping.
fn plain_identifier(name: &str) -> bool {
    let mut chars = name.chars();
    matches!(chars.next(), Some(c) if c.is_ascii_alphabetic() || c == '_')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
        && name.len() <= 63
}

impl RowLike for tokio_postgres::Row {
    fn i64(&self, idx: usize) -> Result<i64, StoreError> {
        Ok(self.try_get(idx)?)
    }
    fn opt_i64(&self, idx: usize) -> Result<Option<i64>, StoreError> {
        Ok(self.try_get(idx)?)
    }
    fn text(&self, idx: usize) -> Result<String, StoreError> {
        Ok(self.try_get(idx)?)
    }
    fn opt_text(&self, idx: usize) -> Result<Option<String>, StoreError> {
        Ok(self.try_get(idx)?)
    }
    fn bool(&self, idx: usize) -> Result<bool, StoreError> {
        Ok(self.try_get(idx)?)
    }
}

fn params_ref(p: &Params) -> Vec<&(dyn ToSql + Sync)> {
    p.iter()
        .map(|b| b.as_ref() as &(dyn ToSql + Sync))
        .collect()
}

impl PostgresStore {
    /// Connects to `url`, creates the schema named in `options` if needed, migrates, and
    /// starts listening for other replicas' commits.
    pub async fn connect(url: &str, options: &OpenOptions) -> Result<Self, StoreError> {
        let mut config: Config = url
            .parse()
            .map_err(|e| StoreError::InvalidConfig(format!("PostgreSQL URL: {e}")))?;
        if let Some(schema) = &options.postgres_schema {
            if !plain_identifier(schema) {
                return Err(StoreError::InvalidConfig(format!(
                    "PostgreSQL schema {schema:?}: use letters, digits and _ (at most 63)"
                )));
            }
            let (client, conn) = config.connect(NoTls).await?;
            let driver = tokio::spawn(conn);
            client
                .batch_execute(&format!("CREATE SCHEMA IF NOT EXISTS {schema}"))
                .await?;
            drop(client);
            let _ = driver.await;
            let opts = format!(
                "{} -c search_path={schema}",
                config.get_options().unwrap_or_default()
            );
            config.options(opts.trim());
        }
        let manager = Manager::from_config(
            config.clone(),
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(options.postgres_pool_size.unwrap_or(DEFAULT_POOL_SIZE))
            .build()
            .map_err(|e| StoreError::InvalidConfig(format!("PostgreSQL pool: {e}")))?;

        let mut client = pool.get().await?;
        migrate(&mut client).await?;
        let schema: Option<String> = client
            .query_one("SELECT current_schema()", &[])
            .await?
            .get(0);
        let latest = max_seq(&client).await?;
        drop(client);

        // LISTEN identifiers are at most 63 bytes: name the channel by a hash of the schema.
        let digest = Sha256::digest(schema.unwrap_or_default().as_bytes());
        let channel = format!("rampart_{}", hex::encode(&digest[..8]));
        let notify = Arc::new(watch::channel(latest).0);
        let first = listen(&config, &channel, notify.clone()).await?;
        let listener = tokio::spawn(keep_listening(
            config,
            channel.clone(),
            notify.clone(),
            first,
        ));
        Ok(PostgresStore {
            pool,
            channel,
            notify,
            audit_seal: options.audit_seal.clone(),
            _listener: AbortOnDrop(listener),
        })
    }

    async fn client(&self) -> Result<deadpool_postgres::Object, StoreError> {
        Ok(self.pool.get().await?)
    }

    /// Runs `sql` and decodes every row with `decode`.
    async fn query_all<T>(
        &self,
        sql: &str,
        params: &[&(dyn ToSql + Sync)],
        decode: impl Fn(&tokio_postgres::Row) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        let client = self.client().await?;
        let stmt = client.prepare_cached(sql).await?;
        client
            .query(&stmt, params)
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// Runs `f` in a write transaction holding the writer lock, then commits.
    async fn write<T>(
        &self,
        f: impl AsyncFnOnce(&deadpool_postgres::Transaction<'_>) -> Result<T, StoreError>,
    ) -> Result<T, StoreError> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        tx.execute(LOCK_SQL, &[&LOCK_CLASS]).await?;
        // On an error `tx` is dropped: everything is rolled back.
        let out = f(&tx).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn notify_in(
        &self,
        tx: &deadpool_postgres::Transaction<'_>,
        seq: i64,
    ) -> Result<(), StoreError> {
        tx.execute(
            "SELECT pg_notify($1, $2)",
            &[&self.channel, &seq.to_string()],
        )
        .await?;
        Ok(())
    }
}

async fn migrate(client: &mut deadpool_postgres::Object) -> Result<(), StoreError> {
    let tx = client.transaction().await?;
    // Several replicas may start at once: one migrates, the others wait and find it done.
    tx.execute(LOCK_SQL, &[&LOCK_CLASS]).await?;
    tx.batch_execute(migrations::CREATE_SCHEMA_MIGRATIONS)
        .await?;
    let applied: Vec<i64> = tx
        .query("SELECT version FROM schema_migrations", &[])
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    for m in migrations::pending(migrations::POSTGRES, &applied)? {
        tx.batch_execute(m.sql)
            .await
            .map_err(|e| StoreError::Migration {
                version: m.version,
                message: e.to_string(),
            })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)",
            &[&m.version, &m.name, &chrono::Utc::now().to_rfc3339()],
        )
        .await?;
        tracing::info!(
            version = m.version,
            name = m.name,
            "applied PostgreSQL migration"
        );
    }
    tx.commit().await?;
    Ok(())
}

async fn max_seq(client: &impl deadpool_postgres::GenericClient) -> Result<i64, StoreError> {
    Ok(client
        .query_one("SELECT COALESCE(MAX(seq), 0)::BIGINT FROM changes", &[])
        .await?
        .get(0))
}

/// Opens a connection that LISTENs on `channel` and feeds `notify`; resolves once the
/// LISTEN is in place, returning the task that lives as long as the connection.
async fn listen(
    config: &Config,
    channel: &str,
    notify: Arc<watch::Sender<i64>>,
) -> Result<AbortOnDrop, StoreError> {
    let (client, mut conn) = config.connect(NoTls).await?;
    let driver = tokio::spawn(async move {
        while let Some(msg) = std::future::poll_fn(|cx| conn.poll_message(cx)).await {
            match msg {
                Ok(AsyncMessage::Notification(n)) => {
                    if let Ok(seq) = n.payload().parse() {
                        announce(&notify, seq);
                    }
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "PostgreSQL LISTEN connection lost");
                    return;
                }
            }
        }
    });
    // `channel` is `rampart_` and hex digits: no quoting needed.
    let mut driver = AbortOnDrop(driver);
    client.batch_execute(&format!("LISTEN {channel}")).await?;
    // Dropping the client closes the connection: keep it until the driver ends.
    Ok(AbortOnDrop(tokio::spawn(async move {
        let _client = client;
        let _ = (&mut driver.0).await;
    })))
}

/// A task that is aborted when its handle is dropped.
struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Keeps a LISTEN connection up for the life of the store.
async fn keep_listening(
    config: Config,
    channel: String,
    notify: Arc<watch::Sender<i64>>,
    first: AbortOnDrop,
) {
    let mut current = first;
    loop {
        let _ = (&mut current.0).await;
        loop {
            tokio::time::sleep(RELISTEN_AFTER).await;
            match listen(&config, &channel, notify.clone()).await {
                Ok(task) => {
                    current = task;
                    break;
                }
                Err(e) => tracing::warn!(error = %e, "cannot LISTEN on PostgreSQL, retrying"),
            }
        }
    }
}

/// The `audit_head` row, if there is one.
async fn anchored_head(
    client: &impl deadpool_postgres::GenericClient,
) -> Result<Option<AuditHead>, StoreError> {
    let row = client
        .query_opt("SELECT seq, digest, seal FROM audit_head WHERE id = 1", &[])
        .await?;
    row.map(|r| {
        Ok(AuditHead {
            seq: r.try_get(0)?,
            digest: r.try_get(1)?,
            seal: r.try_get(2)?,
        })
    })
    .transpose()
}

/// Appends `events` to the chain inside the write transaction `tx`, from the anchored head
/// (which must still be the trail's last event): one statement for the events and one for
/// their resources, whatever the number of events; then moves the head.
async fn append_audit_tx(
    tx: &deadpool_postgres::Transaction<'_>,
    events: &[PreparedAuditEvent],
    seal: Option<&AuditSeal>,
) -> Result<(), StoreError> {
    if events.is_empty() {
        return Ok(());
    }
    let last = tx
        .query_opt(
            "SELECT seq, digest FROM audit_events ORDER BY seq DESC LIMIT 1",
            &[],
        )
        .await?
        .map(|row| -> Result<(i64, String), StoreError> { Ok((row.try_get(0)?, row.try_get(1)?)) })
        .transpose()?;
    AuditHead::check_trail_end(
        anchored_head(tx).await?.as_ref(),
        last.as_ref().map(|(seq, digest)| (*seq, digest.as_str())),
    )?;
    let (head_seq, head_digest) = last.unwrap_or((0, GENESIS_DIGEST.to_owned()));
    let links = link(head_seq, &head_digest, events);
    macro_rules! column {
        ($e:ident => $value:expr) => {
            events.iter().map(|$e| $value).collect::<Vec<_>>()
        };
    }
    let seqs: Vec<i64> = links.iter().map(|l| l.seq).collect();
    let prevs: Vec<&str> = links.iter().map(|l| l.prev_digest.as_str()).collect();
    let digests: Vec<&str> = links.iter().map(|l| l.digest.as_str()).collect();
    let (times, read_only) = (column!(e => e.event_time), column!(e => e.read_only));
    let (ids, accounts, names, sources) = (
        column!(e => e.event_id()),
        column!(e => e.account_id()),
        column!(e => e.event_name()),
        column!(e => e.event_source()),
    );
    let (users, keys, resources, records) = (
        column!(e => e.username()),
        column!(e => e.access_key_id()),
        column!(e => e.resources_text()),
        column!(e => e.record_text()),
    );
    let insert = tx
        .prepare_cached(
            "INSERT INTO audit_events (seq, event_id, event_time, account_id, event_name, \
             event_source, username, access_key_id, read_only, resources, record, prev_digest, \
             digest) SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::BIGINT[], $4::TEXT[], \
             $5::TEXT[], $6::TEXT[], $7::TEXT[], $8::TEXT[], $9::BOOLEAN[], $10::TEXT[], \
             $11::TEXT[], $12::TEXT[], $13::TEXT[])",
        )
        .await?;
    tx.execute(
        &insert,
        &[
            &seqs, &ids, &times, &accounts, &names, &sources, &users, &keys, &read_only,
            &resources, &records, &prevs, &digests,
        ],
    )
    .await?;
    let (mut r_seqs, mut r_types, mut r_names) = (Vec::new(), Vec::new(), Vec::new());
    for (e, l) in events.iter().zip(&links) {
        for (t, n) in e.resources() {
            r_seqs.push(l.seq);
            r_types.push(t);
            r_names.push(n);
        }
    }
    if !r_seqs.is_empty() {
        let insert = tx
            .prepare_cached(
                "INSERT INTO audit_resources (seq, resource_type, resource_name) \
                 SELECT * FROM UNNEST($1::BIGINT[], $2::TEXT[], $3::TEXT[])",
            )
            .await?;
        tx.execute(&insert, &[&r_seqs, &r_types, &r_names]).await?;
    }
    let last = links.last().expect("events is not empty");
    let head = AuditHead::new(last.seq, &last.digest, seal);
    let upsert = tx
        .prepare_cached(
            "INSERT INTO audit_head (id, seq, digest, seal) VALUES (1, $1, $2, $3) \
             ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, digest = excluded.digest, \
             seal = excluded.seal",
        )
        .await?;
    tx.execute(&upsert, &[&head.seq, &head.digest, &head.seal])
        .await?;
    Ok(())
}

async fn commit_batch(
    tx: &deadpool_postgres::Transaction<'_>,
    batch: Batch,
    seal: Option<&AuditSeal>,
) -> Result<Vec<Change>, StoreError> {
    let mut seq = max_seq(tx).await?;
    let select = tx
        .prepare_cached("SELECT version FROM records WHERE kind = $1 AND id = $2")
        .await?;
    let upsert = tx
        .prepare_cached(
            "INSERT INTO records (kind, id, version, value) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, \
             value = excluded.value",
        )
        .await?;
    let delete = tx
        .prepare_cached("DELETE FROM records WHERE kind = $1 AND id = $2")
        .await?;
    let insert_change = tx
        .prepare_cached(
            "INSERT INTO changes (seq, kind, id, version, value) VALUES ($1, $2, $3, $4, $5)",
        )
        .await?;
    let mut changes = Vec::with_capacity(batch.mutations.len());
    for m in &batch.mutations {
        let (kind, id) = m.key();
        let current: Option<i64> = match tx.query_opt(&select, &[&kind, &id]).await? {
            Some(row) => Some(row.try_get(0)?),
            None => None,
        };
        let Some(step) = Step::plan(m, current)? else {
            continue;
        };
        seq += 1;
        let stored = step.stored();
        match &stored {
            Some((version, value)) => tx.execute(&upsert, &[&kind, &id, version, value]).await?,
            None => tx.execute(&delete, &[&kind, &id]).await?,
        };
        let (version, value) = stored.unzip();
        tx.execute(&insert_change, &[&seq, &kind, &id, &version, &value])
            .await?;
        changes.push(step.change(seq));
    }
    let audit: Vec<PreparedAuditEvent> = batch.audit.into_iter().map(Into::into).collect();
    append_audit_tx(tx, &audit, seal).await?;
    Ok(changes)
}

fn to_postgres(args: Vec<SqlArg>) -> Params {
    args.into_iter()
        .map(|a| -> Box<dyn ToSql + Sync + Send> {
            match a {
                SqlArg::I64(i) => Box::new(i),
                SqlArg::Text(s) => Box::new(s),
                SqlArg::Bool(b) => Box::new(b),
            }
        })
        .collect()
}

#[async_trait::async_trait]
impl Store for PostgresStore {
    async fn snapshot(&self) -> Result<Snapshot, StoreError> {
        let mut client = self.client().await?;
        // One REPEATABLE READ transaction: the records and the seq come from one snapshot.
        let tx = client
            .build_transaction()
            .isolation_level(IsolationLevel::RepeatableRead)
            .read_only(true)
            .start()
            .await?;
        let seq = max_seq(&tx).await?;
        let records = tx
            .query(
                &format!(
                    "SELECT {RECORD_COLUMNS} FROM records ORDER BY kind COLLATE \"C\", id COLLATE \"C\""
                ),
                &[],
            )
            .await?
            .iter()
            .map(record_from_row)
            .collect::<Result<_, _>>()?;
        tx.commit().await?;
        Ok(Snapshot { records, seq })
    }

    async fn commit(&self, batch: Batch) -> Result<Vec<Change>, StoreError> {
        if batch.mutations.is_empty() && batch.audit.is_empty() {
            return Ok(Vec::new());
        }
        let changes = self
            .write(async |tx| {
                let changes = commit_batch(tx, batch, self.audit_seal.as_ref()).await?;
                if let Some(last) = changes.last() {
                    self.notify_in(tx, last.seq).await?;
                }
                Ok(changes)
            })
            .await?;
        if let Some(last) = changes.last() {
            announce(&self.notify, last.seq);
        }
        Ok(changes)
    }

    async fn changes_since(&self, after: i64, limit: usize) -> Result<Vec<Change>, StoreError> {
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        self.query_all(
            &format!("SELECT {CHANGE_COLUMNS} FROM changes WHERE seq > $1 ORDER BY seq LIMIT $2"),
            &[&after, &limit],
            change_from_row,
        )
        .await
    }

    async fn wait_for_changes(&self, after: i64, timeout: Duration) -> Result<(), StoreError> {
        let rx = self.notify.subscribe();
        wait_for_seq(rx, after, timeout, POLL_EVERY, || async {
            max_seq(&self.client().await?).await
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
        self.write(async |tx| append_audit_tx(tx, &events, self.audit_seal.as_ref()).await)
            .await
    }

    async fn lookup_audit(&self, query: AuditQuery) -> Result<AuditPage, StoreError> {
        let plan = query.plan()?;
        let (sql, args) = lookup_sql(&query, &plan, |i| format!("${i}"));
        let args = to_postgres(args);
        let events = self
            .query_all(&sql, &params_ref(&args), |r| {
                AuditRow::read(r)?.into_stored()
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
        self.query_all(
            &format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events a WHERE a.seq > $1 ORDER BY a.seq LIMIT $2"
            ),
            &[&after_seq, &limit],
            |r| AuditRow::read(r)?.into_stored(),
        )
        .await
    }

    async fn audit_head(&self) -> Result<Option<AuditHead>, StoreError> {
        anchored_head(&self.client().await?).await
    }

    async fn audit_resource_rows(
        &self,
        after_seq: i64,
        up_to_seq: i64,
    ) -> Result<Vec<(i64, String, String)>, StoreError> {
        self.query_all(
            "SELECT seq, resource_type, resource_name FROM audit_resources \
             WHERE seq > $1 AND seq <= $2",
            &[&after_seq, &up_to_seq],
            |r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)),
        )
        .await
    }

    async fn reset(&self) -> Result<(), StoreError> {
        let seq = self
            .write(async |tx| {
                let seq = max_seq(tx).await? + 1;
                tx.batch_execute(
                    "DELETE FROM records; DELETE FROM changes; \
                     DELETE FROM audit_resources; DELETE FROM audit_events; \
                     DELETE FROM audit_head;",
                )
                .await?;
                let marker = reset_change(seq);
                tx.execute(
                    "INSERT INTO changes (seq, kind, id) VALUES ($1, $2, $3)",
                    &[&marker.seq, &marker.kind, &marker.id],
                )
                .await?;
                self.notify_in(tx, seq).await?;
                Ok(seq)
            })
            .await?;
        announce(&self.notify, seq);
        Ok(())
    }
}
