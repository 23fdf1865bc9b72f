//! The audit trail: CloudTrail events, their digest chain, `LookupEvents` queries.
//!
//! Every stored event gets a gap-free `seq` (1, 2, 3, ...) and
//! `digest = SHA-256(prev_digest || seq as 8 big-endian bytes || canonical bytes of the event)`,
//! where `prev_digest` is the digest of event `seq - 1` (32 zero bytes for the first one).
//! Digests are stored as lowercase hex. The canonical bytes are a compact JSON array
//! `[1, event_id, event_time_micros, account_id, event_name, event_source, username,
//! access_key_id, read_only, resources, record]` with the keys of every object in `record`
//! sorted, so they do not depend on how a database or serde_json orders keys.
//!
//! [`verify_audit_chain`] recomputes the chain and reports the first event that was
//! changed, removed or moved; it also checks the chain's end against the anchored head
//! (`audit_head.rs`) and LookupEvents' resource index against the events.

use base64::Engine as _;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use std::ops::Range;

use crate::{AuditSeal, Store, StoreError};

/// The digest that precedes the first event of the chain.
pub const GENESIS_DIGEST: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One API call, as CloudTrail records it.
///
/// The named fields are what `LookupEvents` filters on and returns; `record` is the whole
/// CloudTrail event (returned as the `CloudTrailEvent` string).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// `eventID`, a UUID.
    pub event_id: String,
    /// `eventTime`. Stored with microsecond precision: anything finer is truncated on append.
    pub event_time: DateTime<Utc>,
    /// `recipientAccountId`: the account whose trail shows the event.
    pub account_id: String,
    /// `eventName`, e.g. `CreateUser`.
    pub event_name: String,
    /// `eventSource`, e.g. `iam.amazonaws.com`.
    pub event_source: String,
    /// The `Username` lookup attribute (the IAM user or role session name).
    pub username: Option<String>,
    /// `userIdentity.accessKeyId`.
    pub access_key_id: Option<String>,
    /// `readOnly`.
    pub read_only: bool,
    /// `(ResourceType, ResourceName)` pairs, e.g. `("AWS::IAM::User", "alice")`.
    pub resources: Vec<(String, String)>,
    /// The complete CloudTrail event JSON.
    pub record: serde_json::Value,
}

impl AuditEvent {
    /// `event_time` as stored: microseconds since the Unix epoch.
    pub fn event_time_micros(&self) -> i64 {
        self.event_time.timestamp_micros()
    }

    /// The canonical bytes that the digest covers (see the module documentation).
    pub fn canonical_bytes(&self) -> Vec<u8> {
        self.canonical_bytes_with(&self.record_text())
    }

    /// [`AuditEvent::canonical_bytes`] given `record_text`, the canonical JSON of `record`.
    pub(crate) fn canonical_bytes_with(&self, record_text: &str) -> Vec<u8> {
        let mut out = Vec::with_capacity(256 + record_text.len());
        self.write_canonical_prefix(&mut out);
        out.extend_from_slice(record_text.as_bytes());
        out.push(b']');
        out
    }

    /// The canonical bytes up to (not including) the record and the closing `]`. Returns
    /// where in `out` the resources array is (`[[type, name], ...]`, as serde_json writes
    /// it: what `audit_events.resources` keeps).
    fn write_canonical_prefix(&self, out: &mut Vec<u8>) -> Range<usize> {
        out.extend_from_slice(b"[1,");
        write_json_str(out, &self.event_id);
        out.push(b',');
        out.extend_from_slice(self.event_time_micros().to_string().as_bytes());
        for s in [&self.account_id, &self.event_name, &self.event_source] {
            out.push(b',');
            write_json_str(out, s);
        }
        for s in [&self.username, &self.access_key_id] {
            out.push(b',');
            match s {
                Some(s) => write_json_str(out, s),
                None => out.extend_from_slice(b"null"),
            }
        }
        out.extend_from_slice(if self.read_only {
            b",true,"
        } else {
            b",false,"
        });
        let resources_start = out.len();
        out.push(b'[');
        for (i, (t, n)) in self.resources.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.push(b'[');
            write_json_str(out, t);
            out.push(b',');
            write_json_str(out, n);
            out.push(b']');
        }
        out.push(b']');
        let resources = resources_start..out.len();
        out.push(b',');
        resources
    }

    /// `record` as canonical JSON text (sorted keys, no whitespace): what the store keeps.
    pub fn record_text(&self) -> String {
        canonical_json(&self.record)
    }

    /// Truncates `event_time` to what the store keeps (microseconds).
    pub(crate) fn normalize_time(&mut self) {
        if let Some(t) = DateTime::from_timestamp_micros(self.event_time_micros()) {
            self.event_time = t;
        }
    }
}

/// An [`AuditEvent`] rendered for appending: the canonical bytes the digest covers
/// (which contain `record` as canonical JSON) and the columns, without the JSON tree.
///
/// [`AuditWriter`](crate::AuditWriter) renders events on the recording thread, so its queue
/// holds compact text (its byte bound counts [`PreparedAuditEvent::size`]) and the writer's
/// transaction only hashes and inserts. Everything is in one buffer (the writer's thread
/// frees what a request's thread allocated, and each such block costs the allocating
/// thread a cache miss when it reuses it): the canonical bytes, then the columns' text.
/// Invariants: `buf[..canonical_end]` is the canonical bytes, `buf[record_start..
/// canonical_end - 1]` the record's canonical JSON (the canonical array ends with `]`),
/// `resources_text` the canonical bytes' resources array, and every other range the text
/// of its field, appended after the canonical bytes; all are UTF-8 and on character
/// boundaries.
#[derive(Debug, Clone, PartialEq)]
pub struct PreparedAuditEvent {
    buf: Vec<u8>,
    canonical_end: usize,
    record_start: usize,
    resources_text: Range<usize>,
    event_id: Range<usize>,
    account_id: Range<usize>,
    event_name: Range<usize>,
    event_source: Range<usize>,
    username: Option<Range<usize>>,
    access_key_id: Option<Range<usize>>,
    /// `(ResourceType, ResourceName)` ranges.
    resources: Vec<(Range<usize>, Range<usize>)>,
    pub(crate) event_time: i64,
    pub(crate) read_only: bool,
}

impl PreparedAuditEvent {
    fn text(&self, range: &Range<usize>) -> &str {
        std::str::from_utf8(&self.buf[range.clone()]).unwrap_or_default()
    }

    /// The record as canonical JSON text (what `audit_events.record` keeps).
    pub(crate) fn record_text(&self) -> &str {
        self.text(&(self.record_start..self.canonical_end - 1))
    }

    /// `resources` as JSON text (what `audit_events.resources` keeps).
    pub(crate) fn resources_text(&self) -> &str {
        self.text(&self.resources_text)
    }

    pub(crate) fn event_id(&self) -> &str {
        self.text(&self.event_id)
    }

    pub(crate) fn account_id(&self) -> &str {
        self.text(&self.account_id)
    }

    pub(crate) fn event_name(&self) -> &str {
        self.text(&self.event_name)
    }

    pub(crate) fn event_source(&self) -> &str {
        self.text(&self.event_source)
    }

    pub(crate) fn username(&self) -> Option<&str> {
        self.username.as_ref().map(|r| self.text(r))
    }

    pub(crate) fn access_key_id(&self) -> Option<&str> {
        self.access_key_id.as_ref().map(|r| self.text(r))
    }

    /// The `(ResourceType, ResourceName)` pairs.
    pub(crate) fn resources(&self) -> impl Iterator<Item = (&str, &str)> {
        self.resources
            .iter()
            .map(|(t, n)| (self.text(t), self.text(n)))
    }

    /// `SHA-256(prev || seq || canonical bytes)`.
    pub(crate) fn digest(&self, prev: &[u8; 32], seq: i64) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(prev);
        h.update(seq.to_be_bytes());
        h.update(&self.buf[..self.canonical_end]);
        h.finalize().into()
    }

    /// Approximate heap bytes held (for the writer queue's byte bound).
    pub fn size(&self) -> usize {
        std::mem::size_of::<Self>()
            + self.buf.capacity()
            + self.resources.capacity() * std::mem::size_of::<(Range<usize>, Range<usize>)>()
    }
}

impl PreparedAuditEvent {
    /// An event whose record the caller has already written as canonical JSON, the way
    /// [`canonical_json`] writes it (compact, the keys of every object sorted bytewise, no
    /// duplicate keys; [`write_canonical_json`] and [`write_json_string`] write the
    /// pieces). `event.record` is ignored. A record that is not canonical would break the
    /// chain (`verify` recomputes the digest from the parsed record), so debug builds
    /// check it.
    pub fn with_canonical_record(event: AuditEvent, record: &[u8]) -> Self {
        debug_assert_eq!(
            serde_json::from_slice::<serde_json::Value>(record)
                .map(|v| canonical_json(&v))
                .ok()
                .as_deref()
                .map(str::as_bytes),
            Some(record),
            "the record is not canonical JSON"
        );
        Self::build(event, |out| out.extend_from_slice(record))
    }

    /// The event back as an [`AuditEvent`], its record parsed (time truncated to the
    /// microsecond, as stored).
    pub fn into_event(self) -> AuditEvent {
        AuditEvent {
            event_id: self.event_id().to_owned(),
            event_time: DateTime::from_timestamp_micros(self.event_time).unwrap_or_default(),
            account_id: self.account_id().to_owned(),
            event_name: self.event_name().to_owned(),
            event_source: self.event_source().to_owned(),
            username: self.username().map(str::to_owned),
            access_key_id: self.access_key_id().map(str::to_owned),
            read_only: self.read_only,
            resources: self
                .resources()
                .map(|(t, n)| (t.to_owned(), n.to_owned()))
                .collect(),
            record: self.record(),
        }
    }

    /// The record parsed back (what a reader of the stored event sees).
    pub fn record(&self) -> serde_json::Value {
        serde_json::from_str(self.record_text()).unwrap_or_default()
    }

    fn build(mut e: AuditEvent, write_record: impl FnOnce(&mut Vec<u8>)) -> Self {
        e.normalize_time();
        let mut buf = Vec::with_capacity(2048);
        let resources_text = e.write_canonical_prefix(&mut buf);
        let record_start = buf.len();
        write_record(&mut buf);
        buf.push(b']');
        let canonical_end = buf.len();
        let mut append = |s: &str| {
            let start = buf.len();
            buf.extend_from_slice(s.as_bytes());
            start..buf.len()
        };
        let event_id = append(&e.event_id);
        let account_id = append(&e.account_id);
        let event_name = append(&e.event_name);
        let event_source = append(&e.event_source);
        let username = e.username.as_deref().map(&mut append);
        let access_key_id = e.access_key_id.as_deref().map(&mut append);
        let resources = e
            .resources
            .iter()
            .map(|(t, n)| (append(t), append(n)))
            .collect();
        PreparedAuditEvent {
            buf,
            canonical_end,
            record_start,
            resources_text,
            event_id,
            account_id,
            event_name,
            event_source,
            username,
            access_key_id,
            resources,
            event_time: e.event_time_micros(),
            read_only: e.read_only,
        }
    }
}

impl From<AuditEvent> for PreparedAuditEvent {
    fn from(mut e: AuditEvent) -> Self {
        let record = std::mem::take(&mut e.record);
        Self::build(e, |out| write_canonical_json(out, &record))
    }
}

/// Decodes a stored hex digest; a malformed one (only a hand-edited row has one) is
/// hashed instead, so the next digest differs from every honest one.
pub(crate) fn digest_bytes(hex_digest: &str) -> [u8; 32] {
    let mut out = [0u8; 32];
    if hex::decode_to_slice(hex_digest, &mut out).is_err() {
        out = Sha256::digest(hex_digest.as_bytes()).into();
    }
    out
}

/// An audit event as stored, with its place in the digest chain.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredAuditEvent {
    /// Position in the chain: 1, 2, 3... with no gaps.
    pub seq: i64,
    /// Digest of event `seq - 1` ([`GENESIS_DIGEST`] for the first), lowercase hex.
    pub prev_digest: String,
    /// `SHA-256(prev_digest || seq || canonical bytes)`, lowercase hex.
    pub digest: String,
    /// The event.
    pub event: AuditEvent,
}

/// Computes the digest of event `seq` whose predecessor's digest is `prev_digest` (hex).
pub fn chain_digest(prev_digest: &str, seq: i64, event: &AuditEvent) -> String {
    chain_digest_with(prev_digest, seq, event, &event.record_text())
}

/// [`chain_digest`] given `record_text`, the canonical JSON of `event.record`.
pub(crate) fn chain_digest_with(
    prev_digest: &str,
    seq: i64,
    event: &AuditEvent,
    record_text: &str,
) -> String {
    let mut h = Sha256::new();
    match hex::decode(prev_digest) {
        Ok(bytes) => h.update(&bytes),
        // A non-hex prev_digest can only come from a hand-edited row: hash the text so
        // the result differs from every honest digest.
        Err(_) => h.update(prev_digest.as_bytes()),
    }
    h.update(seq.to_be_bytes());
    h.update(event.canonical_bytes_with(record_text));
    hex::encode(h.finalize())
}

/// Links `events` onto the chain whose head is `(head_seq, head_digest)` (the backends use
/// the allocation-frugal `common::link_rows`; this is its reference).
#[cfg(test)]
pub(crate) fn link_events(
    head_seq: i64,
    head_digest: &str,
    events: Vec<AuditEvent>,
) -> Vec<StoredAuditEvent> {
    let mut prev = head_digest.to_owned();
    events
        .into_iter()
        .enumerate()
        .map(|(i, mut event)| {
            event.normalize_time();
            let seq = head_seq + 1 + i as i64;
            let digest = chain_digest(&prev, seq, &event);
            StoredAuditEvent {
                seq,
                prev_digest: std::mem::replace(&mut prev, digest.clone()),
                digest,
                event,
            }
        })
        .collect()
}

fn write_json_str(out: &mut Vec<u8>, s: &str) {
    // The canonical form escapes what serde_json escapes: quotes, backslashes and control
    // characters. Most strings have none, and are copied as they are. (A fold rather
    // than `any`, so that the check runs over the whole string in vector registers.)
    let needs_escape = s.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if needs_escape {
        // Serializing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    } else {
        out.reserve(s.len() + 2);
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    }
}

/// Writes `s` as a JSON string, escaped the way the canonical form escapes it.
pub fn write_json_string(out: &mut Vec<u8>, s: &str) {
    write_json_str(out, s)
}

/// Writes `v` in canonical form (see [`canonical_json`]) at the end of `out`.
pub fn write_canonical_json(out: &mut Vec<u8>, v: &serde_json::Value) {
    use serde_json::Value;
    match v {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(b) => out.extend_from_slice(if *b { b"true" } else { b"false" }),
        Value::Number(n) => {
            let _ = serde_json::to_writer(&mut *out, n);
        }
        Value::String(s) => write_json_str(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_canonical_json(out, item);
            }
            out.push(b']');
        }
        Value::Object(map) => {
            out.push(b'{');
            // serde_json's map is a BTreeMap (sorted) unless a crate in the build enables
            // its `preserve_order` feature; sort only when the keys are not in order.
            if map.keys().is_sorted() {
                for (i, (k, v)) in map.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, k);
                    out.push(b':');
                    write_canonical_json(out, v);
                }
            } else {
                let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                entries.sort_by(|a, b| a.0.cmp(b.0));
                for (i, (k, v)) in entries.into_iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_json_str(out, k);
                    out.push(b':');
                    write_canonical_json(out, v);
                }
            }
            out.push(b'}');
        }
    }
}

/// `v` as compact JSON with the keys of every object sorted.
pub fn canonical_json(v: &serde_json::Value) -> String {
    let mut out = Vec::new();
    write_canonical_json(&mut out, v);
    // Only valid UTF-8 was written.
    String::from_utf8(out).unwrap_or_default()
}

/// The attributes `LookupEvents` can filter on (at most one per query).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[non_exhaustive]
pub enum LookupAttribute {
    /// `EventId`
    EventId,
    /// `EventName`
    EventName,
    /// `ReadOnly`: the value is `true` or `false`.
    ReadOnly,
    /// `Username`
    Username,
    /// `ResourceType`
    ResourceType,
    /// `ResourceName`
    ResourceName,
    /// `EventSource`
    EventSource,
    /// `AccessKeyId`
    AccessKeyId,
}

impl LookupAttribute {
    /// Every attribute.
    pub const ALL: [LookupAttribute; 8] = [
        LookupAttribute::EventId,
        LookupAttribute::EventName,
        LookupAttribute::ReadOnly,
        LookupAttribute::Username,
        LookupAttribute::ResourceType,
        LookupAttribute::ResourceName,
        LookupAttribute::EventSource,
        LookupAttribute::AccessKeyId,
    ];

    /// The `AttributeKey` string of the CloudTrail API.
    pub fn as_aws_key(self) -> &'static str {
        match self {
            LookupAttribute::EventId => "EventId",
            LookupAttribute::EventName => "EventName",
            LookupAttribute::ReadOnly => "ReadOnly",
            LookupAttribute::Username => "Username",
            LookupAttribute::ResourceType => "ResourceType",
            LookupAttribute::ResourceName => "ResourceName",
            LookupAttribute::EventSource => "EventSource",
            LookupAttribute::AccessKeyId => "AccessKeyId",
        }
    }

    /// Parses a CloudTrail `AttributeKey` (exact spelling).
    pub fn from_aws_key(key: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.as_aws_key() == key)
    }
}

/// A `LookupEvents` query.
///
/// The time range is inclusive on both ends; results come newest first.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditQuery {
    /// Only events recorded for this account.
    pub account_id: String,
    /// At most one attribute filter (exact match).
    pub lookup: Option<(LookupAttribute, String)>,
    /// Events at or after this time.
    pub start: Option<DateTime<Utc>>,
    /// Events at or before this time.
    pub end: Option<DateTime<Utc>>,
    /// Page size, 1..=50 ([`StoreError::InvalidQuery`] otherwise).
    pub max_results: usize,
    /// The `next_token` of the previous page of the same query.
    pub next_token: Option<String>,
}

impl AuditQuery {
    /// Largest page `LookupEvents` returns.
    pub const MAX_RESULTS: usize = 50;

    /// Every event of `account_id`, newest first, 50 per page.
    pub fn new(account_id: impl Into<String>) -> Self {
        AuditQuery {
            account_id: account_id.into(),
            lookup: None,
            start: None,
            end: None,
            max_results: Self::MAX_RESULTS,
            next_token: None,
        }
    }

    /// Checks the arguments and turns the query into what the backends run.
    pub(crate) fn plan(&self) -> Result<LookupPlan, StoreError> {
        if !(1..=Self::MAX_RESULTS).contains(&self.max_results) {
            return Err(StoreError::InvalidQuery(format!(
                "max_results must be between 1 and {}, got {}",
                Self::MAX_RESULTS,
                self.max_results
            )));
        }
        if let Some((LookupAttribute::ReadOnly, v)) = &self.lookup
            && v != "true"
            && v != "false"
        {
            return Err(StoreError::InvalidQuery(format!(
                "ReadOnly must be true or false, got {v:?}"
            )));
        }
        let fingerprint = self.fingerprint();
        let after = match &self.next_token {
            None => None,
            Some(t) => Some(decode_token(t, &fingerprint)?),
        };
        Ok(LookupPlan { after, fingerprint })
    }

    /// Identifies the query's filters, so a token cannot be replayed against another query.
    fn fingerprint(&self) -> String {
        let mut h = Sha256::new();
        h.update(self.account_id.as_bytes());
        h.update([0]);
        if let Some((attr, value)) = &self.lookup {
            h.update(attr.as_aws_key().as_bytes());
            h.update([0]);
            h.update(value.as_bytes());
        }
        h.update([0]);
        h.update(
            self.start
                .map_or(i64::MIN, |t| t.timestamp_micros())
                .to_be_bytes(),
        );
        h.update(
            self.end
                .map_or(i64::MAX, |t| t.timestamp_micros())
                .to_be_bytes(),
        );
        hex::encode(&h.finalize()[..8])
    }

    /// Builds the SQL `WHERE` clause of the query, with placeholders rendered by `ph`
    /// (`?1` for SQLite, `$1` for PostgreSQL).
    pub(crate) fn where_clause(
        &self,
        plan: &LookupPlan,
        ph: fn(usize) -> String,
    ) -> (String, Vec<SqlArg>) {
        let mut args = vec![SqlArg::Text(self.account_id.clone())];
        let mut sql = format!("a.account_id = {}", ph(1));
        let mut push = |sql: &mut String, cond: &str, arg: SqlArg| {
            args.push(arg);
            let p = ph(args.len());
            sql.push_str(" AND ");
            sql.push_str(&cond.replace('?', &p));
        };
        if let Some((attr, value)) = &self.lookup {
            let text = SqlArg::Text(value.clone());
            match attr {
                LookupAttribute::EventId => push(&mut sql, "a.event_id = ?", text),
                LookupAttribute::EventName => push(&mut sql, "a.event_name = ?", text),
                LookupAttribute::ReadOnly => {
                    push(&mut sql, "a.read_only = ?", SqlArg::Bool(value == "true"))
                }
                LookupAttribute::Username => push(&mut sql, "a.username = ?", text),
                LookupAttribute::EventSource => push(&mut sql, "a.event_source = ?", text),
                LookupAttribute::AccessKeyId => push(&mut sql, "a.access_key_id = ?", text),
                LookupAttribute::ResourceType => push(
                    &mut sql,
                    "EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = a.seq AND r.resource_type = ?)",
                    text,
                ),
                LookupAttribute::ResourceName => push(
                    &mut sql,
                    "EXISTS (SELECT 1 FROM audit_resources r WHERE r.seq = a.seq AND r.resource_name = ?)",
                    text,
                ),
            }
        }
        if let Some(start) = self.start {
            push(
                &mut sql,
                "a.event_time >= ?",
                SqlArg::I64(start.timestamp_micros()),
            );
        }
        if let Some(end) = self.end {
            push(
                &mut sql,
                "a.event_time <= ?",
                SqlArg::I64(end.timestamp_micros()),
            );
        }
        if let Some((time, seq)) = plan.after {
            args.push(SqlArg::I64(time));
            let t = ph(args.len());
            args.push(SqlArg::I64(seq));
            let s = ph(args.len());
            sql.push_str(&format!(
                " AND (a.event_time < {t} OR (a.event_time = {t} AND a.seq < {s}))"
            ));
        }
        (sql, args)
    }
}

/// A backend-neutral SQL argument.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum SqlArg {
    I64(i64),
    Text(String),
    Bool(bool),
}

/// A checked query: where the page starts.
pub(crate) struct LookupPlan {
    /// `(event_time_micros, seq)` of the last event of the previous page.
    pub after: Option<(i64, i64)>,
    fingerprint: String,
}

impl LookupPlan {
    /// The token for the page after `last`.
    pub(crate) fn next_token(&self, last: &StoredAuditEvent) -> String {
        let raw = format!(
            "1:{}:{}:{}",
            last.event.event_time_micros(),
            last.seq,
            self.fingerprint
        );
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(raw)
    }
}

fn decode_token(token: &str, fingerprint: &str) -> Result<(i64, i64), StoreError> {
    let raw = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(token)
        .map_err(|_| StoreError::InvalidToken)?;
    let raw = String::from_utf8(raw).map_err(|_| StoreError::InvalidToken)?;
    let mut parts = raw.split(':');
    let (Some("1"), Some(time), Some(seq), Some(fp), None) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return Err(StoreError::InvalidToken);
    };
    if fp != fingerprint {
        return Err(StoreError::InvalidToken);
    }
    let time = time.parse().map_err(|_| StoreError::InvalidToken)?;
    let seq = seq.parse().map_err(|_| StoreError::InvalidToken)?;
    Ok((time, seq))
}

/// One page of `LookupEvents`.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditPage {
    /// Newest first.
    pub events: Vec<StoredAuditEvent>,
    /// Pass it back in [`AuditQuery::next_token`] for the next page; `None` on the last page.
    pub next_token: Option<String>,
}

/// Why the chain broke at [`ChainBreak::seq`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum BreakReason {
    /// The event's content no longer hashes to its stored digest: it was changed.
    Modified,
    /// The next stored event is not `seq`: event `seq` (and maybe more) was removed.
    Missing,
    /// The event's `prev_digest` is not the digest of the event before it: events were
    /// reordered, or removed and the rest renumbered, or inserted.
    BrokenLink,
    /// The trail ends before its anchored head: event `seq` and the ones after it, up to
    /// the head, were cut off.
    Truncated,
    /// Event `seq` is not the anchored head: added past it, or changed together with its
    /// digest, or the head row was removed.
    PastHead,
    /// The anchored head (at `seq`) is not sealed by this master key: rewritten by someone
    /// without it, or written by a store opened without the seal.
    HeadSeal,
    /// LookupEvents' resource index does not hold event `seq`'s resources as the event
    /// lists them (rows removed, added or changed: lookups by resource would miss it or
    /// find what it does not name).
    ResourceIndex,
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The first bad seq.
    pub seq: i64,
    /// What is wrong there.
    pub reason: BreakReason,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let seq = self.seq;
        match self.reason {
            BreakReason::Modified => write!(
                f,
                "event {seq} was modified: its content does not match its digest"
            ),
            BreakReason::Missing => write!(f, "event {seq} is missing"),
            BreakReason::BrokenLink => write!(
                f,
                "event {seq} does not follow the event before it (reordered, renumbered or inserted)"
            ),
            BreakReason::Truncated => write!(
                f,
                "the trail was cut short: event {seq} and the ones after it up to the anchored head are gone"
            ),
            BreakReason::PastHead => write!(
                f,
                "event {seq} is not the trail's anchored head (added after it, or rewritten with its digest)"
            ),
            BreakReason::HeadSeal => write!(
                f,
                "the anchored head (event {seq}) is not sealed by this master key: it was rewritten"
            ),
            BreakReason::ResourceIndex => write!(
                f,
                "the resource index (audit_resources) does not match event {seq}'s resources"
            ),
        }
    }
}

/// What [`verify_audit_chain`] found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifyReport {
    /// Events found sound before the first break (all of them when the trail is intact,
    /// or when what broke is its head).
    pub events_checked: u64,
    /// Seq of the last event checked (0 for an empty trail).
    pub head_seq: i64,
    /// Digest of the last event checked: record it elsewhere to detect truncation later.
    pub head_digest: String,
    /// The first break, or `None` when the chain is intact.
    pub first_bad: Option<ChainBreak>,
}

impl VerifyReport {
    /// Whether the whole chain verified.
    pub fn is_intact(&self) -> bool {
        self.first_bad.is_none()
    }
}

impl std::fmt::Display for VerifyReport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.first_bad {
            None => write!(
                f,
                "audit chain intact: {} events, head seq {} digest {}",
                self.events_checked, self.head_seq, self.head_digest
            ),
            Some(b) => write!(
                f,
                "audit chain BROKEN: {b} ({} events verified before it)",
                self.events_checked
            ),
        }
    }
}

/// Seqs of the resource index read at once: at least this many, more on long trails so
/// that the index is read at most [`INDEX_READS`] times (it has no index on seq, so each
/// read is a scan).
const INDEX_WINDOW: i64 = 65_536;
const INDEX_READS: i64 = 16;

/// Checks the whole audit trail and reports the first place where it does not hold: an
/// event changed, removed or moved (the digest chain), events cut off the end or added
/// past it (the anchored head, and its seal when `seal` is given), or LookupEvents'
/// resource index not matching the events.
///
/// Seal-less, a head rewritten to match a cut trail goes unseen; sealed, an older genuine
/// head put back with the trail cut to it does: compare [`VerifyReport::head_seq`] and
/// [`VerifyReport::head_digest`] with a copy kept elsewhere to see that.
pub async fn verify_audit_chain(
    store: &dyn Store,
    seal: Option<&AuditSeal>,
) -> Result<VerifyReport, StoreError> {
    const PAGE: usize = 1000;
    let anchored = store.audit_head().await?;
    let mut verifier = ChainVerifier::new();
    let last_seq = anchored.as_ref().map_or(0, |h| h.seq);
    let mut index = IndexWindow::new(INDEX_WINDOW.max(last_seq / INDEX_READS), last_seq);
    loop {
        let page = store.audit_chain(verifier.report.head_seq, PAGE).await?;
        let done = page.len() < PAGE;
        for event in &page {
            if let Some(reason) = verifier.fault(event) {
                let seq = verifier.report.head_seq + 1;
                return Ok(verifier.broken(seq, reason));
            }
            if let Some(bad) = index
                .check(store, event.seq, &event.event.resources)
                .await?
            {
                return Ok(verifier.broken(bad, BreakReason::ResourceIndex));
            }
            verifier.accept(event);
        }
        if done || page.is_empty() {
            break;
        }
    }
    if let Some(bad) = index.check_rest(store).await? {
        return Ok(verifier.broken(bad, BreakReason::ResourceIndex));
    }
    let last = verifier.report.head_seq;
    match anchored {
        None if last > 0 => Ok(verifier.broken(1, BreakReason::PastHead)),
        None => Ok(verifier.report),
        Some(head) if head.seq > last => Ok(verifier.broken(last + 1, BreakReason::Truncated)),
        Some(head) if head.seq < last => Ok(verifier.broken(head.seq + 1, BreakReason::PastHead)),
        Some(head) if head.digest != verifier.report.head_digest => {
            Ok(verifier.broken(last, BreakReason::PastHead))
        }
        Some(head) => {
            let sealed = |seal: &AuditSeal| {
                head.seal
                    .as_deref()
                    .is_some_and(|s| seal.verifies(head.seq, &head.digest, s))
            };
            if seal.is_some_and(|seal| !sealed(seal)) {
                return Ok(verifier.broken(head.seq, BreakReason::HeadSeal));
            }
            Ok(verifier.report)
        }
    }
}

struct ChainVerifier {
    report: VerifyReport,
}

impl ChainVerifier {
    fn new() -> Self {
        ChainVerifier {
            report: VerifyReport {
                events_checked: 0,
                head_seq: 0,
                head_digest: GENESIS_DIGEST.to_owned(),
                first_bad: None,
            },
        }
    }

    /// What is wrong with `e` as the next event of the chain, if anything.
    fn fault(&self, e: &StoredAuditEvent) -> Option<BreakReason> {
        if e.seq != self.report.head_seq + 1 {
            Some(BreakReason::Missing)
        } else if e.prev_digest != self.report.head_digest {
            Some(BreakReason::BrokenLink)
        } else if chain_digest(&e.prev_digest, e.seq, &e.event) != e.digest {
            Some(BreakReason::Modified)
        } else {
            None
        }
    }

    /// Takes `e`, found sound, as the chain's new last event.
    fn accept(&mut self, e: &StoredAuditEvent) {
        self.report.events_checked += 1;
        self.report.head_seq = e.seq;
        self.report.head_digest = e.digest.clone();
    }

    /// The report, with a break at `seq` for `reason`.
    fn broken(mut self, seq: i64, reason: BreakReason) -> VerifyReport {
        self.report.first_bad = Some(ChainBreak { seq, reason });
        self.report
    }
}

/// The resource index's rows for one window of seqs, `(after, up_to]`, compared in seq
/// order as the chain is walked.
struct IndexWindow {
    width: i64,
    /// The window that reaches this seq (the anchored head) reaches to the end.
    last_seq: i64,
    up_to: i64,
    /// Sorted by seq, then resource; the front is the next to compare.
    rows: std::collections::VecDeque<(i64, String, String)>,
}

impl IndexWindow {
    fn new(width: i64, last_seq: i64) -> Self {
        IndexWindow {
            width,
            last_seq,
            up_to: i64::MIN,
            rows: Default::default(),
        }
    }

    /// Reads the next window of rows (the rest of the index when `to_end`); false once
    /// the index has been read to its end.
    async fn advance(&mut self, store: &dyn Store, to_end: bool) -> Result<bool, StoreError> {
        if self.up_to == i64::MAX {
            return Ok(false);
        }
        // The first window takes every seq below its end, so rows for seq 0 or below
        // (which no event has) are seen.
        let after = self.up_to;
        let end = if after == i64::MIN {
            self.width
        } else {
            after.saturating_add(self.width)
        };
        self.up_to = if to_end || end >= self.last_seq {
            i64::MAX
        } else {
            end
        };
        let mut rows = store.audit_resource_rows(after, self.up_to).await?;
        rows.sort_unstable();
        self.rows.extend(rows);
        Ok(true)
    }

    /// Compares the index with event `seq`'s `resources`: the first seq where they differ
    /// (maybe one without an event, which the index names and the chain does not).
    async fn check(
        &mut self,
        store: &dyn Store,
        seq: i64,
        resources: &[(String, String)],
    ) -> Result<Option<i64>, StoreError> {
        while seq > self.up_to && self.advance(store, false).await? {}
        if let Some(stray) = self.rows.front().filter(|r| r.0 < seq) {
            return Ok(Some(stray.0));
        }
        let mut indexed = Vec::new();
        while self.rows.front().is_some_and(|r| r.0 == seq) {
            let (_, resource_type, name) = self.rows.pop_front().expect("a front row");
            indexed.push((resource_type, name));
        }
        let mut listed = resources.to_vec();
        listed.sort_unstable();
        Ok((indexed != listed).then_some(seq))
    }

    /// After the chain's last event: the first row left (which names no event), if any.
    async fn check_rest(&mut self, store: &dyn Store) -> Result<Option<i64>, StoreError> {
        self.advance(store, true).await?;
        Ok(self.rows.front().map(|r| r.0))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn strings_are_written_as_serde_json_writes_them() {
        for s in [
            "",
            "plain",
            "é ü 😀",
            "quote \" here",
            "back\\slash",
            "new\nline",
            "tab\t",
            "\u{1}\u{1f}",
            "\u{7f} del",
            "</script>",
            "a/b",
        ] {
            let mut ours = Vec::new();
            super::write_json_string(&mut ours, s);
            assert_eq!(ours, serde_json::to_vec(s).unwrap(), "{s:?}");
        }
    }

    use super::*;

    fn event(name: &str) -> AuditEvent {
        AuditEvent {
            event_id: format!("id-{name}"),
            event_time: DateTime::from_timestamp(1_700_000_000, 123_456_789).unwrap(),
            account_id: "123456789012".into(),
            event_name: name.into(),
            event_source: "iam.amazonaws.com".into(),
            username: Some("alice".into()),
            access_key_id: None,
            read_only: false,
            resources: vec![("AWS::IAM::User".into(), "bob".into())],
            record: serde_json::json!({"z": 1, "a": {"y": [1, 2.5, "x"], "b": null}}),
        }
    }

    #[test]
    fn canonical_bytes_sort_keys_and_are_stable() {
        let e = event("CreateUser");
        let text = String::from_utf8(e.canonical_bytes()).unwrap();
        assert_eq!(
            text,
            r#"[1,"id-CreateUser",1700000000123456,"123456789012","CreateUser","iam.amazonaws.com","alice",null,false,[["AWS::IAM::User","bob"]],{"a":{"b":null,"y":[1,2.5,"x"]},"z":1}]"#
        );
        // Round trip through the stored text gives the same bytes.
        let reparsed: serde_json::Value = serde_json::from_str(&e.record_text()).unwrap();
        let mut e2 = e.clone();
        e2.record = reparsed;
        assert_eq!(e.canonical_bytes(), e2.canonical_bytes());
    }

    #[test]
    fn prepared_events_link_exactly_like_the_reference() {
        let events = vec![event("A"), event("B"), event("C")];
        let reference = link_events(0, GENESIS_DIGEST, events.clone());
        let prepared: Vec<PreparedAuditEvent> = events.into_iter().map(Into::into).collect();
        let links = crate::common::link(0, GENESIS_DIGEST, &prepared);
        for ((p, l), r) in prepared.iter().zip(&links).zip(&reference) {
            assert_eq!(
                (l.seq, &l.prev_digest, &l.digest),
                (r.seq, &r.prev_digest, &r.digest)
            );
            assert_eq!(p.record_text(), r.event.record_text());
            assert_eq!(p.event_time, r.event.event_time_micros());
            assert!(p.size() > p.record_text().len());
        }
        // A malformed head digest (a hand-edited row) links to something else.
        let odd = crate::common::link(0, "not hex", &prepared);
        assert_ne!(odd[0].digest, links[0].digest);
    }

    #[test]
    fn prepared_events_keep_every_column() {
        let mut odd = event("Odd");
        odd.event_id = "id \"quoted\" \\ é".into();
        odd.username = None;
        odd.access_key_id = Some("AKIA\u{1}".into());
        odd.read_only = true;
        odd.resources = vec![
            (
                "AWS::KMS::Key".into(),
                "arn:aws:kms:us-east-1:1:key/\"k\"".into(),
            ),
            ("AWS::IAM::Role".into(), "r\nole".into()),
        ];
        let mut none = event("None");
        none.resources.clear();
        for e in [event("CreateUser"), odd, none] {
            let prepared = PreparedAuditEvent::from(e.clone());
            let pairs: Vec<[&str; 2]> = e
                .resources
                .iter()
                .map(|(t, n)| [t.as_str(), n.as_str()])
                .collect();
            assert_eq!(
                prepared.resources_text(),
                serde_json::to_string(&pairs).unwrap()
            );
            assert_eq!(prepared.event_id(), e.event_id);
            assert_eq!(prepared.access_key_id(), e.access_key_id.as_deref());
            let mut expected = e;
            expected.normalize_time();
            assert_eq!(prepared.into_event(), expected);
        }
    }

    #[test]
    fn linked_events_verify_and_edits_do_not() {
        let chain = link_events(0, GENESIS_DIGEST, vec![event("A"), event("B"), event("C")]);
        assert_eq!(chain[0].prev_digest, GENESIS_DIGEST);
        assert_eq!(chain[1].prev_digest, chain[0].digest);
        assert_eq!(
            chain[0].event.event_time.timestamp_subsec_nanos(),
            123_456_000
        );
        let mut v = ChainVerifier::new();
        for e in &chain {
            assert_eq!(v.fault(e), None);
            v.accept(e);
        }
        assert_eq!(v.report.head_seq, 3);

        let mut tampered = chain.clone();
        tampered[1].event.read_only = true;
        let mut v = ChainVerifier::new();
        assert_eq!(v.fault(&tampered[0]), None);
        v.accept(&tampered[0]);
        assert_eq!(v.fault(&tampered[1]), Some(BreakReason::Modified));
        assert_eq!(v.fault(&tampered[2]), Some(BreakReason::Missing));
    }

    #[test]
    fn tokens_are_bound_to_their_query() {
        let q = AuditQuery::new("111111111111");
        let plan = q.plan().unwrap();
        let last = &link_events(0, GENESIS_DIGEST, vec![event("A")])[0];
        let token = plan.next_token(last);
        let mut next = q.clone();
        next.next_token = Some(token.clone());
        assert_eq!(
            next.plan().unwrap().after,
            Some((last.event.event_time_micros(), 1))
        );
        let mut other = AuditQuery::new("222222222222");
        other.next_token = Some(token);
        assert!(matches!(other.plan(), Err(StoreError::InvalidToken)));
        let mut garbage = q.clone();
        garbage.next_token = Some("not a token".into());
        assert!(matches!(garbage.plan(), Err(StoreError::InvalidToken)));
    }

    #[test]
    fn lookup_attribute_keys_round_trip() {
        for a in LookupAttribute::ALL {
            assert_eq!(LookupAttribute::from_aws_key(a.as_aws_key()), Some(a));
        }
        assert_eq!(LookupAttribute::from_aws_key("eventname"), None);
    }
}
