//! What both backends share: mutation planning, row decoding, waiting for changes.

use std::future::Future;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::Instant;

use crate::audit::{LookupPlan, PreparedAuditEvent, SqlArg, StoredAuditEvent, digest_bytes};
use crate::{AuditEvent, AuditPage, AuditQuery, Change, Mutation, RESET_KIND, Record, StoreError};

/// `bytes` as lowercase hex (what `hex::encode` gives, with one table lookup per byte
/// instead of its per-character iterator).
fn lower_hex(bytes: &[u8]) -> String {
    let mut out = vec![0; bytes.len() * 2];
    // `out` is exactly twice as long as `bytes`: this cannot fail.
    let _ = hex::encode_to_slice(bytes, &mut out);
    String::from_utf8(out).unwrap_or_default()
}

/// The place of one appended event in the chain.
pub(crate) struct Link {
    pub seq: i64,
    pub prev_digest: String,
    pub digest: String,
}

/// Links `events` onto the chain whose head is `(head_seq, head_digest)`: one [`Link`]
/// per event, in order.
pub(crate) fn link(head_seq: i64, head_digest: &str, events: &[PreparedAuditEvent]) -> Vec<Link> {
    let mut prev = digest_bytes(head_digest);
    let mut prev_hex = head_digest.to_owned();
    events
        .iter()
        .zip(head_seq + 1..)
        .map(|(e, seq)| {
            prev = e.digest(&prev, seq);
            let digest = lower_hex(&prev);
            Link {
                seq,
                prev_digest: std::mem::replace(&mut prev_hex, digest.clone()),
                digest,
            }
        })
        .collect()
}

/// Columns of `audit_events`, in the order [`AuditRow::read`] expects them.
pub(crate) const AUDIT_COLUMNS: &str = "a.seq, a.event_id, a.event_time, a.account_id, \
    a.event_name, a.event_source, a.username, a.access_key_id, a.read_only, a.resources, \
    a.record, a.prev_digest, a.digest";

/// Columns of `changes`, in the order [`change_from_row`] expects them.
pub(crate) const CHANGE_COLUMNS: &str = "seq, kind, id, version, value";

/// Columns of `records`, in the order [`record_from_row`] expects them.
pub(crate) const RECORD_COLUMNS: &str = "kind, id, version, value";

/// A database row, read by column index; implemented for both drivers' rows.
pub(crate) trait RowLike {
    fn i64(&self, idx: usize) -> Result<i64, StoreError>;
    fn opt_i64(&self, idx: usize) -> Result<Option<i64>, StoreError>;
    fn text(&self, idx: usize) -> Result<String, StoreError>;
    fn opt_text(&self, idx: usize) -> Result<Option<String>, StoreError>;
    fn bool(&self, idx: usize) -> Result<bool, StoreError>;
}

fn parse_json(text: &str, what: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|e| StoreError::Corrupt(format!("{what}: {e}")))
}

pub(crate) fn record_from_row(r: &impl RowLike) -> Result<Record, StoreError> {
    let (kind, id) = (r.text(0)?, r.text(1)?);
    let value = parse_json(&r.text(3)?, &format!("record {kind}/{id}"))?;
    Ok(Record {
        version: r.i64(2)?,
        kind,
        id,
        value,
    })
}

pub(crate) fn change_from_row(r: &impl RowLike) -> Result<Change, StoreError> {
    let (seq, kind, id) = (r.i64(0)?, r.text(1)?, r.text(2)?);
    let record = match (r.opt_i64(3)?, r.opt_text(4)?) {
        (Some(version), Some(text)) => Some(Record {
            kind: kind.clone(),
            id: id.clone(),
            version,
            value: parse_json(&text, &format!("change {seq}"))?,
        }),
        _ => None,
    };
    Ok(Change {
        seq,
        kind,
        id,
        record,
    })
}

/// One `audit_events` row as stored.
pub(crate) struct AuditRow {
    pub seq: i64,
    pub event_id: String,
    pub event_time: i64,
    pub account_id: String,
    pub event_name: String,
    pub event_source: String,
    pub username: Option<String>,
    pub access_key_id: Option<String>,
    pub read_only: bool,
    pub resources: String,
    pub record: String,
    pub prev_digest: String,
    pub digest: String,
}

impl AuditRow {
    pub(crate) fn read(r: &impl RowLike) -> Result<Self, StoreError> {
        Ok(AuditRow {
            seq: r.i64(0)?,
            event_id: r.text(1)?,
            event_time: r.i64(2)?,
            account_id: r.text(3)?,
            event_name: r.text(4)?,
            event_source: r.text(5)?,
            username: r.opt_text(6)?,
            access_key_id: r.opt_text(7)?,
            read_only: r.bool(8)?,
            resources: r.text(9)?,
            record: r.text(10)?,
            prev_digest: r.text(11)?,
            digest: r.text(12)?,
        })
    }

    pub(crate) fn into_stored(self) -> Result<StoredAuditEvent, StoreError> {
        let seq = self.seq;
        let corrupt = |what: &str| StoreError::Corrupt(format!("audit event {seq}: {what}"));
        let resources: Vec<(String, String)> =
            serde_json::from_str(&self.resources).map_err(|e| corrupt(&e.to_string()))?;
        let event_time = chrono::DateTime::from_timestamp_micros(self.event_time)
            .ok_or_else(|| corrupt("event_time out of range"))?;
        Ok(StoredAuditEvent {
            seq,
            prev_digest: self.prev_digest,
            digest: self.digest,
            event: AuditEvent {
                event_id: self.event_id,
                event_time,
                account_id: self.account_id,
                event_name: self.event_name,
                event_source: self.event_source,
                username: self.username,
                access_key_id: self.access_key_id,
                read_only: self.read_only,
                resources,
                record: serde_json::from_str(&self.record).map_err(|e| corrupt(&e.to_string()))?,
            },
        })
    }
}

/// What one mutation does, once its expectation is checked against the current version.
pub(crate) enum Step<'a> {
    Put {
        kind: &'a str,
        id: &'a str,
        version: i64,
        value: &'a serde_json::Value,
    },
    Delete {
        kind: &'a str,
        id: &'a str,
    },
}

impl<'a> Step<'a> {
    /// Checks `m` against the record's `current` version. `Ok(None)`: nothing to write
    /// (deleting an absent record).
    pub(crate) fn plan(m: &'a Mutation, current: Option<i64>) -> Result<Option<Self>, StoreError> {
        let (kind, id) = m.key();
        let expect = match m {
            Mutation::Put { expect, .. } | Mutation::Delete { expect, .. } => *expect,
        };
        if !expect.holds(current) {
            return Err(StoreError::conflict(kind, id));
        }
        Ok(match m {
            Mutation::Put { value, .. } => Some(Step::Put {
                kind,
                id,
                version: current.unwrap_or(0) + 1,
                value,
            }),
            Mutation::Delete { .. } if current.is_some() => Some(Step::Delete { kind, id }),
            Mutation::Delete { .. } => None,
        })
    }

    /// `(version, value text)` to store in `records` and `changes`; `None` for a delete.
    pub(crate) fn stored(&self) -> Option<(i64, String)> {
        match self {
            Step::Put { version, value, .. } => Some((*version, value.to_string())),
            Step::Delete { .. } => None,
        }
    }

    pub(crate) fn key(&self) -> (&'a str, &'a str) {
        match self {
            Step::Put { kind, id, .. } | Step::Delete { kind, id } => (kind, id),
        }
    }

    /// The change this step produces at `seq`.
    pub(crate) fn change(&self, seq: i64) -> Change {
        let (kind, id) = self.key();
        Change {
            seq,
            kind: kind.to_owned(),
            id: id.to_owned(),
            record: match self {
                Step::Put { version, value, .. } => Some(Record {
                    kind: kind.to_owned(),
                    id: id.to_owned(),
                    version: *version,
                    value: (*value).clone(),
                }),
                Step::Delete { .. } => None,
            },
        }
    }
}

/// The change [`Store::reset`](crate::Store::reset) leaves behind.
pub(crate) fn reset_change(seq: i64) -> Change {
    Change {
        seq,
        kind: RESET_KIND.to_owned(),
        id: String::new(),
        record: None,
    }
}

/// Raises the latest known seq to `seq`, waking waiters if it grew.
pub(crate) fn announce(tx: &watch::Sender<i64>, seq: i64) {
    tx.send_if_modified(|latest| {
        if seq > *latest {
            *latest = seq;
            true
        } else {
            false
        }
    });
}

/// Waits until the latest known seq exceeds `after` (pushed through `rx`, or found by
/// calling `latest` every `poll_every`), or until `timeout`.
pub(crate) async fn wait_for_seq<F, Fut>(
    mut rx: watch::Receiver<i64>,
    after: i64,
    timeout: Duration,
    poll_every: Duration,
    mut latest: F,
) -> Result<(), StoreError>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<i64, StoreError>>,
{
    let deadline = Instant::now() + timeout;
    // Subscribed before looking, so a commit between the look and the wait still wakes us.
    if *rx.borrow_and_update() > after || latest().await? > after {
        return Ok(());
    }
    let mut sender_alive = true;
    loop {
        let now = Instant::now();
        if now >= deadline {
            return Ok(());
        }
        let wake = deadline.min(now + poll_every);
        tokio::select! {
            changed = rx.changed(), if sender_alive => {
                sender_alive = changed.is_ok();
                if *rx.borrow_and_update() > after {
                    return Ok(());
                }
            }
            () = tokio::time::sleep_until(wake) => {
                if latest().await? > after {
                    return Ok(());
                }
            }
        }
    }
}

/// Guards a blocking or spawned task's join error.
pub(crate) fn joined<T>(
    r: Result<Result<T, StoreError>, tokio::task::JoinError>,
) -> Result<T, StoreError> {
    r.map_err(StoreError::backend)?
}

/// The `LookupEvents` statement: one row more than a page, to know whether another follows.
pub(crate) fn lookup_sql(
    query: &AuditQuery,
    plan: &LookupPlan,
    ph: fn(usize) -> String,
) -> (String, Vec<SqlArg>) {
    let (filter, args) = query.where_clause(plan, ph);
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events a WHERE {filter} \
         ORDER BY a.event_time DESC, a.seq DESC LIMIT {}",
        query.max_results + 1
    );
    (sql, args)
}

/// Cuts what [`lookup_sql`] returned to a page and its token.
pub(crate) fn into_page(
    query: &AuditQuery,
    plan: &LookupPlan,
    mut events: Vec<StoredAuditEvent>,
) -> AuditPage {
    let next_token = if events.len() > query.max_results {
        events.truncate(query.max_results);
        events.last().map(|last| plan.next_token(last))
    } else {
        None
    };
    AuditPage { events, next_token }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lower_hex_matches_hex_encode() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(super::lower_hex(&bytes), hex::encode(&bytes));
    }
}
