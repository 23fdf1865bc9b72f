//! One story, told against every backend: SQLite always (a real file in a temp dir),
//! PostgreSQL when `RAMPART_TEST_DATABASE_URL` is set (each test in its own schema, dropped
//! at the end, so tests running at once do not disturb each other).
//!
//! Each story is a function of `&Db`; the `stories!` macro turns it into one test per
//! backend: `sqlite::<story>` and `postgres::<story>`.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use chrono::{DateTime, TimeZone, Utc};
use rampart_store::{
    AuditEvent, AuditQuery, AuditSeal, AuditWriter, Batch, BreakReason, ChainBreak, Change, Expect,
    LookupAttribute, MasterKey, Mutation, OpenOptions, Store, StoreError, verify_audit_chain,
};
use serde_json::json;

const PG_ENV: &str = "RAMPART_TEST_DATABASE_URL";

/// The seal every test store is opened with (a master key of the tests' own).
fn test_seal() -> AuditSeal {
    MasterKey::from_bytes(&[7; 32]).audit_seal()
}

/// A database for one test.
enum Db {
    Sqlite {
        _dir: tempfile::TempDir,
        path: PathBuf,
    },
    Postgres {
        url: String,
        schema: String,
    },
}

impl Db {
    fn sqlite() -> Db {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("rampart.db");
        Db::Sqlite { _dir: dir, path }
    }

    /// A fresh schema on the test PostgreSQL, or `None` when none is configured.
    fn postgres() -> Option<Db> {
        let url = std::env::var(PG_ENV).ok().filter(|u| !u.is_empty())?;
        let mut suffix = [0u8; 8];
        getrandom::fill(&mut suffix).expect("random");
        let schema = format!("rampart_test_{}", hex::encode(suffix));
        Some(Db::Postgres { url, schema })
    }

    /// Another handle on the same database: another replica.
    async fn open(&self) -> Arc<dyn Store> {
        match self {
            Db::Sqlite { path, .. } => rampart_store::open_with(
                &format!("sqlite://{}", path.display()),
                OpenOptions::default().audit_seal(test_seal()),
            )
            .await
            .expect("open sqlite"),
            Db::Postgres { url, schema } => rampart_store::open_with(
                url,
                OpenOptions::default()
                    .postgres_schema(schema)
                    .audit_seal(test_seal()),
            )
            .await
            .expect("open postgres"),
        }
    }

    /// Runs raw SQL behind the store's back (to tamper with it).
    async fn exec(&self, sql: &str) {
        match self {
            Db::Sqlite { path, .. } => {
                let conn = rusqlite::Connection::open(path).expect("raw sqlite");
                conn.execute_batch(sql).expect("raw sql");
            }
            Db::Postgres { url, schema } => {
                let (client, conn) = tokio_postgres::connect(url, tokio_postgres::NoTls)
                    .await
                    .expect("raw postgres");
                let driver = tokio::spawn(conn);
                client
                    .batch_execute(&format!("SET search_path TO {schema}; {sql}"))
                    .await
                    .expect("raw sql");
                drop(client);
                let _ = driver.await;
            }
        }
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Db::Postgres { url, schema } = self {
            let (url, schema) = (url.clone(), schema.clone());
            // Drop the schema on a runtime of its own: this also runs when a test panicked.
            let _ = std::thread::spawn(move || {
                let rt = tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .expect("runtime");
                rt.block_on(async {
                    if let Ok((client, conn)) =
                        tokio_postgres::connect(&url, tokio_postgres::NoTls).await
                    {
                        let driver = tokio::spawn(conn);
                        let _ = client
                            .batch_execute(&format!("DROP SCHEMA IF EXISTS {schema} CASCADE"))
                            .await;
                        drop(client);
                        let _ = driver.await;
                    }
                });
            })
            .join();
        }
    }
}

macro_rules! stories {
    ($($name:ident),* $(,)?) => {
        mod sqlite {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(&super::Db::sqlite()).await;
                }
            )*
        }
        mod postgres {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    let Some(db) = super::Db::postgres() else {
                        eprintln!("{} is not set: PostgreSQL story not run", super::PG_ENV);
                        return;
                    };
                    super::$name(&db).await;
                }
            )*
        }
    };
}

stories!(
    commit_and_snapshot,
    failed_expectations_write_nothing,
    delete,
    change_feed_is_ordered_and_gap_free,
    wait_for_changes_wakes_on_another_replica,
    audit_lookup_by_attribute_time_and_page,
    audit_writer_group_commits_and_flushes,
    chain_detects_a_modified_event,
    chain_detects_a_removed_event,
    chain_detects_reordered_events,
    head_anchors_the_end_of_the_trail,
    a_rewritten_head_does_not_verify_without_the_key,
    chain_covers_the_resource_index,
    reset_empties_and_replicas_see_it,
    concurrent_replicas_never_duplicate_or_skip_seqs,
);

fn put(kind: &str, id: &str, value: serde_json::Value, expect: Expect) -> Mutation {
    Mutation::Put {
        kind: kind.into(),
        id: id.into(),
        value,
        expect,
    }
}

fn delete_m(kind: &str, id: &str, expect: Expect) -> Mutation {
    Mutation::Delete {
        kind: kind.into(),
        id: id.into(),
        expect,
    }
}

fn at(secs: i64) -> DateTime<Utc> {
    Utc.timestamp_opt(1_700_000_000 + secs, 0).unwrap()
}

fn event(n: i64, account: &str, name: &str) -> AuditEvent {
    AuditEvent {
        event_id: format!("00000000-0000-4000-8000-{n:012}"),
        event_time: at(n),
        account_id: account.into(),
        event_name: name.into(),
        event_source: "iam.amazonaws.com".into(),
        username: Some(format!("user{}", n % 3)),
        access_key_id: Some(format!("AKIA{n:016}")),
        read_only: name.starts_with("Get") || name.starts_with("List"),
        resources: vec![("AWS::IAM::User".into(), format!("u{n}"))],
        record: json!({"eventVersion": "1.08", "eventName": name, "n": n, "requestParameters": {"userName": format!("u{n}")}}),
    }
}

async fn commit(store: &dyn Store, mutations: Vec<Mutation>) -> Vec<Change> {
    store
        .commit(Batch {
            mutations,
            audit: vec![],
        })
        .await
        .expect("commit")
}

async fn all_changes(store: &dyn Store) -> Vec<Change> {
    store.changes_since(0, 100_000).await.expect("changes")
}

async fn commit_and_snapshot(db: &Db) {
    let store = db.open().await;
    let empty = store.snapshot().await.unwrap();
    assert_eq!((empty.records.len(), empty.seq), (0, 0));

    let alice = json!({"arn": "arn:aws:iam::123456789012:user/alice", "tags": {"b": 1, "a": [true, null, 2.5]}});
    let changes = store
        .commit(Batch {
            mutations: vec![
                put("iam.user", "alice", alice.clone(), Expect::Absent),
                put("iam.user", "bob", json!({"n": 1}), Expect::Any),
            ],
            audit: vec![event(1, "123456789012", "CreateUser")],
        })
        .await
        .unwrap();
    assert_eq!(changes.iter().map(|c| c.seq).collect::<Vec<_>>(), [1, 2]);
    let rec = changes[0].record.as_ref().unwrap();
    assert_eq!((rec.version, &rec.value), (1, &alice));

    let changes = commit(
        store.as_ref(),
        vec![put("iam.user", "bob", json!({"n": 2}), Expect::Version(1))],
    )
    .await;
    assert_eq!(changes[0].seq, 3);
    assert_eq!(changes[0].record.as_ref().unwrap().version, 2);

    // Another replica sees the same state.
    let snap = db.open().await.snapshot().await.unwrap();
    assert_eq!(snap.seq, 3);
    let by_id: BTreeMap<_, _> = snap.records.iter().map(|r| (r.id.as_str(), r)).collect();
    assert_eq!(by_id["alice"].value, alice);
    assert_eq!(by_id["alice"].version, 1);
    assert_eq!(
        (by_id["bob"].version, &by_id["bob"].value),
        (2, &json!({"n": 2}))
    );
    let chain = store.audit_chain(0, 10).await.unwrap();
    assert_eq!(chain.len(), 1);
    assert_eq!(chain[0].event, event(1, "123456789012", "CreateUser"));

    // A SQLite file keeps everything after the handles are dropped and it is reopened.
    drop(store);
    if let Db::Sqlite { .. } = db {
        let reopened = db.open().await;
        assert_eq!(reopened.snapshot().await.unwrap(), snap);
        assert_eq!(reopened.audit_chain(0, 10).await.unwrap(), chain);
        let next = commit(
            reopened.as_ref(),
            vec![put("k", "x", json!(1), Expect::Any)],
        )
        .await;
        assert_eq!(next[0].seq, 4);
        assert!(
            verify_audit_chain(reopened.as_ref(), Some(&test_seal()))
                .await
                .unwrap()
                .is_intact()
        );
    }
}

async fn failed_expectations_write_nothing(db: &Db) {
    let store = db.open().await;
    store
        .commit(Batch {
            mutations: vec![put("k", "a", json!("a1"), Expect::Absent)],
            audit: vec![event(1, "111111111111", "CreateUser")],
        })
        .await
        .unwrap();
    let before = (
        store.snapshot().await.unwrap(),
        all_changes(store.as_ref()).await,
        store.audit_chain(0, 100).await.unwrap(),
    );

    let failing: Vec<(Vec<Mutation>, &str)> = vec![
        // Expect::Absent on an existing record, after a mutation that would have succeeded.
        (
            vec![
                put("k", "b", json!("b1"), Expect::Absent),
                put("k", "a", json!("a2"), Expect::Absent),
            ],
            "a",
        ),
        // Expect::Version mismatch.
        (
            vec![
                put("k", "c", json!("c1"), Expect::Any),
                put("k", "a", json!("a2"), Expect::Version(7)),
            ],
            "a",
        ),
        // A version expected of a record that does not exist.
        (vec![put("k", "nope", json!(1), Expect::Version(1))], "nope"),
        (vec![delete_m("k", "a", Expect::Version(2))], "a"),
        (vec![delete_m("k", "nope", Expect::Version(1))], "nope"),
        (vec![delete_m("k", "a", Expect::Absent)], "a"),
        // A later mutation sees the earlier ones of its batch.
        (
            vec![
                put("k", "d", json!(1), Expect::Absent),
                put("k", "d", json!(2), Expect::Absent),
            ],
            "d",
        ),
    ];
    for (mutations, failing_id) in failing {
        let err = store
            .commit(Batch {
                mutations,
                audit: vec![event(2, "111111111111", "UpdateUser")],
            })
            .await
            .unwrap_err();
        match err {
            StoreError::Conflict { kind, id } => {
                assert_eq!((kind.as_str(), id.as_str()), ("k", failing_id))
            }
            other => panic!("expected a conflict, got {other:?}"),
        }
        let after = (
            store.snapshot().await.unwrap(),
            all_changes(store.as_ref()).await,
            store.audit_chain(0, 100).await.unwrap(),
        );
        assert_eq!(after, before, "a failed batch wrote something");
    }

    // The matching expectations succeed, and the batch sees its own writes.
    let changes = commit(
        store.as_ref(),
        vec![
            put("k", "a", json!("a2"), Expect::Version(1)),
            put("k", "d", json!(1), Expect::Absent),
            put("k", "d", json!(2), Expect::Version(1)),
        ],
    )
    .await;
    let versions: Vec<_> = changes
        .iter()
        .map(|c| (c.id.as_str(), c.record.as_ref().unwrap().version))
        .collect();
    assert_eq!(versions, [("a", 2), ("d", 1), ("d", 2)]);
}

async fn delete(db: &Db) {
    let store = db.open().await;
    commit(
        store.as_ref(),
        vec![put("k", "a", json!(1), Expect::Absent)],
    )
    .await;
    let changes = commit(store.as_ref(), vec![delete_m("k", "a", Expect::Version(1))]).await;
    assert_eq!(changes.len(), 1);
    assert_eq!((changes[0].seq, changes[0].record.clone()), (2, None));
    assert!(store.snapshot().await.unwrap().records.is_empty());

    // Deleting what is not there writes nothing.
    assert!(
        commit(store.as_ref(), vec![delete_m("k", "a", Expect::Any)])
            .await
            .is_empty()
    );
    assert!(
        commit(store.as_ref(), vec![delete_m("k", "a", Expect::Absent)])
            .await
            .is_empty()
    );
    assert_eq!(store.snapshot().await.unwrap().seq, 2);

    // A record created again starts over at version 1.
    let changes = commit(
        store.as_ref(),
        vec![put("k", "a", json!(2), Expect::Absent)],
    )
    .await;
    assert_eq!(
        (changes[0].seq, changes[0].record.as_ref().unwrap().version),
        (3, 1)
    );
    let feed = all_changes(store.as_ref()).await;
    assert_eq!(feed[1].record, None);
    assert_eq!(feed[1].id, "a");
}

async fn change_feed_is_ordered_and_gap_free(db: &Db) {
    let store = db.open().await;
    let mut returned = Vec::new();
    for i in 0..12 {
        let mutations = (0..=(i % 3))
            .map(|j| {
                put(
                    "k",
                    &format!("r{}", (i + j) % 5),
                    json!([i, j]),
                    Expect::Any,
                )
            })
            .collect();
        returned.extend(commit(store.as_ref(), mutations).await);
    }
    let feed = all_changes(store.as_ref()).await;
    assert_eq!(feed, returned, "commit returns exactly what the feed holds");
    let seqs: Vec<i64> = feed.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=feed.len() as i64).collect::<Vec<_>>());
    let page = store.changes_since(3, 4).await.unwrap();
    assert_eq!(page.iter().map(|c| c.seq).collect::<Vec<_>>(), [4, 5, 6, 7]);
    assert!(
        store
            .changes_since(feed.len() as i64, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let snap = store.snapshot().await.unwrap();
    assert_eq!(snap.seq, feed.len() as i64);
    // Replaying the feed gives the snapshot.
    let mut view = BTreeMap::new();
    for c in feed {
        match c.record {
            Some(r) => view.insert((c.kind, c.id), r),
            None => view.remove(&(c.kind, c.id)),
        };
    }
    assert_eq!(view.into_values().collect::<Vec<_>>(), snap.records);
}

async fn wait_for_changes_wakes_on_another_replica(db: &Db) {
    let follower = db.open().await;
    let writer = db.open().await;
    commit(writer.as_ref(), vec![put("k", "a", json!(1), Expect::Any)]).await;

    // Changes already there: returns at once.
    let t = Instant::now();
    follower
        .wait_for_changes(0, Duration::from_secs(10))
        .await
        .unwrap();
    assert!(t.elapsed() < Duration::from_secs(1));

    // Nothing new: returns at the timeout.
    let t = Instant::now();
    follower
        .wait_for_changes(1, Duration::from_millis(300))
        .await
        .unwrap();
    assert!(t.elapsed() >= Duration::from_millis(300));

    // Another replica commits: the follower wakes up well within a second.
    let waiter = {
        let follower = follower.clone();
        tokio::spawn(async move {
            follower
                .wait_for_changes(1, Duration::from_secs(10))
                .await
                .unwrap();
            Instant::now()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let committed = Instant::now();
    commit(writer.as_ref(), vec![put("k", "b", json!(2), Expect::Any)]).await;
    let woke = waiter.await.unwrap();
    let latency = woke.saturating_duration_since(committed);
    assert!(
        latency < Duration::from_millis(500),
        "woke after {latency:?}"
    );
    assert_eq!(follower.changes_since(1, 10).await.unwrap()[0].id, "b");
}

async fn audit_lookup_by_attribute_time_and_page(db: &Db) {
    let store = db.open().await;
    let names = [
        "CreateUser",
        "GetUser",
        "ListUsers",
        "DeleteUser",
        "GetCallerIdentity",
    ];
    let mine: Vec<AuditEvent> = (0..10)
        .map(|n| {
            let mut e = event(n, "111111111111", names[n as usize % names.len()]);
            if n == 4 {
                e.event_source = "sts.amazonaws.com".into();
                e.resources.push(("AWS::IAM::Role".into(), "admin".into()));
            }
            e
        })
        .collect();
    // Half through commit, half through append_audit, plus another account's events.
    store
        .commit(Batch {
            mutations: vec![put("k", "x", json!(1), Expect::Any)],
            audit: mine[..5].to_vec(),
        })
        .await
        .unwrap();
    store.append_audit(mine[5..].to_vec()).await.unwrap();
    store
        .append_audit(vec![event(3, "222222222222", "CreateUser")])
        .await
        .unwrap();

    let lookup = |attr: Option<(LookupAttribute, &str)>| {
        let store = store.clone();
        let mut q = AuditQuery::new("111111111111");
        q.lookup = attr.map(|(a, v)| (a, v.to_owned()));
        async move {
            let page = store.lookup_audit(q).await.unwrap();
            assert!(page.next_token.is_none());
            page.events
                .iter()
                .map(|e| e.event.record["n"].as_i64().unwrap())
                .collect::<Vec<_>>()
        }
    };
    // Newest first, only this account.
    assert_eq!(lookup(None).await, (0..10).rev().collect::<Vec<_>>());
    use LookupAttribute as A;
    assert_eq!(lookup(Some((A::EventId, &mine[7].event_id))).await, [7]);
    assert_eq!(lookup(Some((A::EventName, "GetUser"))).await, [6, 1]);
    assert_eq!(
        lookup(Some((A::ReadOnly, "true"))).await,
        [9, 7, 6, 4, 2, 1]
    );
    assert_eq!(lookup(Some((A::ReadOnly, "false"))).await, [8, 5, 3, 0]);
    assert_eq!(lookup(Some((A::Username, "user1"))).await, [7, 4, 1]);
    assert_eq!(lookup(Some((A::ResourceType, "AWS::IAM::Role"))).await, [4]);
    assert_eq!(lookup(Some((A::ResourceName, "u3"))).await, [3]);
    assert_eq!(
        lookup(Some((A::EventSource, "sts.amazonaws.com"))).await,
        [4]
    );
    assert_eq!(
        lookup(Some((
            A::AccessKeyId,
            &mine[2].access_key_id.clone().unwrap()
        )))
        .await,
        [2]
    );
    assert!(lookup(Some((A::EventName, "Nothing"))).await.is_empty());

    // The time range is inclusive at both ends.
    let mut q = AuditQuery::new("111111111111");
    q.start = Some(at(2));
    q.end = Some(at(5));
    let page = store.lookup_audit(q.clone()).await.unwrap();
    let ns: Vec<_> = page
        .events
        .iter()
        .map(|e| e.event.record["n"].as_i64().unwrap())
        .collect();
    assert_eq!(ns, [5, 4, 3, 2]);
    assert_eq!(
        page.events[1].event, mine[4],
        "an event comes back as it went in"
    );

    // Pagination: pages of 3, newest first, nothing twice, nothing missed.
    let mut q = AuditQuery::new("111111111111");
    q.max_results = 3;
    let mut seen = Vec::new();
    let mut pages = 0;
    loop {
        let page = store.lookup_audit(q.clone()).await.unwrap();
        pages += 1;
        assert!(page.events.len() <= 3);
        seen.extend(
            page.events
                .iter()
                .map(|e| e.event.record["n"].as_i64().unwrap()),
        );
        match page.next_token {
            Some(t) => q.next_token = Some(t),
            None => break,
        }
    }
    assert_eq!(pages, 4);
    assert_eq!(seen, (0..10).rev().collect::<Vec<_>>());

    // Bad tokens and arguments are errors a caller can map.
    let mut first = AuditQuery::new("111111111111");
    first.max_results = 2;
    let token = store.lookup_audit(first).await.unwrap().next_token.unwrap();
    let mut other = AuditQuery::new("222222222222");
    other.next_token = Some(token);
    assert!(matches!(
        store.lookup_audit(other).await,
        Err(StoreError::InvalidToken)
    ));
    let mut garbage = AuditQuery::new("111111111111");
    garbage.next_token = Some("garbage".into());
    assert!(matches!(
        store.lookup_audit(garbage).await,
        Err(StoreError::InvalidToken)
    ));
    for (max, lookup) in [(0, None), (51, None), (5, Some((A::ReadOnly, "yes")))] {
        let mut q = AuditQuery::new("111111111111");
        q.max_results = max;
        q.lookup = lookup.map(|(a, v): (A, &str)| (a, v.to_owned()));
        assert!(matches!(
            store.lookup_audit(q).await,
            Err(StoreError::InvalidQuery(_))
        ));
    }
}

async fn audit_writer_group_commits_and_flushes(db: &Db) {
    let store = db.open().await;
    let writer = AuditWriter::spawn(store.clone());
    for n in 0..500 {
        writer
            .record(event(n, "111111111111", "GetCallerIdentity"))
            .unwrap();
    }
    writer.flush().await.unwrap();
    let chain = store.audit_chain(0, 1000).await.unwrap();
    let ids: Vec<_> = chain
        .iter()
        .map(|e| e.event.record["n"].as_i64().unwrap())
        .collect();
    assert_eq!(
        ids,
        (0..500).collect::<Vec<_>>(),
        "recorded in order, all of them"
    );
    writer
        .record_or_wait(event(500, "111111111111", "GetUser"))
        .await
        .unwrap();
    // A clone shares the queue; flush covers what any clone recorded.
    writer.clone().flush().await.unwrap();
    let report = verify_audit_chain(store.as_ref(), Some(&test_seal()))
        .await
        .unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.head_seq, 501);
    // Batches go in multi-row statements and their rest a row at a time: every event's
    // resource is found, wherever in its batch it was.
    for n in [0, 31, 32, 137, 499, 500] {
        let mut q = AuditQuery::new("111111111111");
        q.lookup = Some((LookupAttribute::ResourceName, format!("u{n}")));
        let page = store.lookup_audit(q).await.unwrap();
        let found: Vec<_> = page
            .events
            .iter()
            .map(|e| e.event.record["n"].as_i64())
            .collect();
        assert_eq!(found, [Some(n)], "resource u{n}");
    }
}

/// Writes a chain of 5 events (by commit and by append), checks it verifies.
async fn five_event_chain(db: &Db) -> Arc<dyn Store> {
    let store = db.open().await;
    store
        .commit(Batch {
            mutations: vec![put("k", "a", json!(1), Expect::Any)],
            audit: vec![
                event(1, "111111111111", "CreateUser"),
                event(2, "111111111111", "TagUser"),
            ],
        })
        .await
        .unwrap();
    store
        .append_audit(
            (3..=5)
                .map(|n| event(n, "111111111111", "GetUser"))
                .collect(),
        )
        .await
        .unwrap();
    let report = verify_audit_chain(store.as_ref(), Some(&test_seal()))
        .await
        .unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!((report.events_checked, report.head_seq), (5, 5));
    store
}

async fn assert_break(store: &dyn Store, seq: i64, reason: BreakReason) {
    let report = verify_audit_chain(store, Some(&test_seal())).await.unwrap();
    assert_eq!(
        report.first_bad,
        Some(ChainBreak { seq, reason }),
        "{report}"
    );
    assert!(!report.is_intact());
    assert_eq!(report.events_checked, (seq - 1) as u64);
}

async fn chain_detects_a_modified_event(db: &Db) {
    let store = five_event_chain(db).await;
    db.exec("UPDATE audit_events SET event_name = 'DeleteUser' WHERE seq = 3")
        .await;
    assert_break(store.as_ref(), 3, BreakReason::Modified).await;
    db.exec("UPDATE audit_events SET event_name = 'GetUser' WHERE seq = 3")
        .await;
    assert!(
        verify_audit_chain(store.as_ref(), Some(&test_seal()))
            .await
            .unwrap()
            .is_intact()
    );
    // The CloudTrail record itself is covered too.
    db.exec(r#"UPDATE audit_events SET record = '{"eventName":"GetUser","n":99}' WHERE seq = 4"#)
        .await;
    assert_break(store.as_ref(), 4, BreakReason::Modified).await;
}

async fn chain_detects_a_removed_event(db: &Db) {
    let store = five_event_chain(db).await;
    db.exec("DELETE FROM audit_events WHERE seq = 3").await;
    assert_break(store.as_ref(), 3, BreakReason::Missing).await;
    // Removed, and the rest renumbered to hide the gap.
    db.exec("UPDATE audit_events SET seq = seq - 1 WHERE seq = 4; UPDATE audit_events SET seq = seq - 1 WHERE seq = 5")
        .await;
    assert_break(store.as_ref(), 3, BreakReason::BrokenLink).await;
}

async fn chain_detects_reordered_events(db: &Db) {
    let store = five_event_chain(db).await;
    db.exec(
        "UPDATE audit_events SET seq = -2 WHERE seq = 2; \
         UPDATE audit_events SET seq = 2 WHERE seq = 4; \
         UPDATE audit_events SET seq = 4 WHERE seq = -2",
    )
    .await;
    assert_break(store.as_ref(), 2, BreakReason::BrokenLink).await;
}

async fn head_anchors_the_end_of_the_trail(db: &Db) {
    let store = five_event_chain(db).await;
    let head = store.audit_head().await.unwrap().expect("a head");
    assert_eq!(head.seq, 5);
    assert!(test_seal().verifies(5, &head.digest, head.seal.as_deref().unwrap()));
    // The newest events cut off, with their resources: the rest still links.
    db.exec("DELETE FROM audit_events WHERE seq >= 4; DELETE FROM audit_resources WHERE seq >= 4")
        .await;
    assert_break(store.as_ref(), 4, BreakReason::Truncated).await;
    // No append goes on from the cut trail (that would hide the cut): it fails, writes
    // nothing, and says so.
    let err = store
        .append_audit(vec![event(6, "111111111111", "GetUser")])
        .await
        .unwrap_err();
    assert!(
        matches!(&err, StoreError::Corrupt(m) if m.contains("ends at event 3 but its anchored head is event 5")),
        "{err}"
    );
    let err = store
        .commit(Batch {
            mutations: vec![put("k", "after-cut", json!(1), Expect::Any)],
            audit: vec![event(6, "111111111111", "CreateUser")],
        })
        .await
        .unwrap_err();
    assert!(matches!(err, StoreError::Corrupt(_)), "{err}");
    assert_eq!(store.audit_chain(0, 100).await.unwrap().len(), 3);
    assert!(
        store
            .snapshot()
            .await
            .unwrap()
            .records
            .iter()
            .all(|r| r.id != "after-cut")
    );
    assert_break(store.as_ref(), 4, BreakReason::Truncated).await;
}

async fn a_rewritten_head_does_not_verify_without_the_key(db: &Db) {
    let store = five_event_chain(db).await;
    let head_seal = async |seal: AuditSeal| {
        verify_audit_chain(store.as_ref(), Some(&seal))
            .await
            .unwrap()
            .first_bad
            .map(|b| (b.seq, b.reason))
    };
    // A head sealed by another key, or with its seal removed, does not verify.
    let other = MasterKey::from_bytes(&[8; 32]).audit_seal();
    assert_eq!(head_seal(other).await, Some((5, BreakReason::HeadSeal)));
    let sealed = store.audit_head().await.unwrap().unwrap().seal.unwrap();
    db.exec("UPDATE audit_head SET seal = NULL").await;
    assert_eq!(
        head_seal(test_seal()).await,
        Some((5, BreakReason::HeadSeal))
    );
    db.exec(&format!("UPDATE audit_head SET seal = '{sealed}'"))
        .await;
    assert_eq!(head_seal(test_seal()).await, None);
    // Cut event 5 and point the head at event 4, as someone with the database but not the
    // master key would: the chain and the head agree, the seal does not.
    db.exec(
        "DELETE FROM audit_events WHERE seq = 5; DELETE FROM audit_resources WHERE seq = 5; \
         UPDATE audit_head SET seq = 4, \
         digest = (SELECT digest FROM audit_events WHERE seq = 4)",
    )
    .await;
    assert_eq!(
        head_seal(test_seal()).await,
        Some((4, BreakReason::HeadSeal))
    );
    // Without the seal only the agreement of chain and head is checked.
    assert!(
        verify_audit_chain(store.as_ref(), None)
            .await
            .unwrap()
            .is_intact()
    );
    // Removing the head row is seen.
    db.exec("DELETE FROM audit_head").await;
    let report = verify_audit_chain(store.as_ref(), None).await.unwrap();
    assert_eq!(
        report.first_bad.map(|b| b.reason),
        Some(BreakReason::PastHead)
    );
}

async fn chain_covers_the_resource_index(db: &Db) {
    let store = five_event_chain(db).await;
    // Each edit, and its undoing (the trail verifies again).
    for (edit, undo, seq) in [
        (
            "DELETE FROM audit_resources WHERE seq = 3",
            "INSERT INTO audit_resources VALUES (3, 'AWS::IAM::User', 'u3')",
            3,
        ),
        (
            "UPDATE audit_resources SET resource_name = 'someone' WHERE seq = 2",
            "UPDATE audit_resources SET resource_name = 'u2' WHERE seq = 2",
            2,
        ),
        (
            "INSERT INTO audit_resources VALUES (4, 'AWS::IAM::Role', 'admin')",
            "DELETE FROM audit_resources WHERE seq = 4 AND resource_name = 'admin'",
            4,
        ),
        (
            "INSERT INTO audit_resources VALUES (99, 'AWS::IAM::User', 'ghost')",
            "DELETE FROM audit_resources WHERE seq = 99",
            99,
        ),
        (
            "INSERT INTO audit_resources VALUES (0, 'AWS::IAM::User', 'ghost')",
            "DELETE FROM audit_resources WHERE seq = 0",
            0,
        ),
    ] {
        db.exec(edit).await;
        let report = verify_audit_chain(store.as_ref(), Some(&test_seal()))
            .await
            .unwrap();
        assert_eq!(
            report.first_bad,
            Some(ChainBreak {
                seq,
                reason: BreakReason::ResourceIndex
            }),
            "{edit}: {report}"
        );
        db.exec(undo).await;
        let report = verify_audit_chain(store.as_ref(), Some(&test_seal()))
            .await
            .unwrap();
        assert!(report.is_intact(), "{undo}: {report}");
    }
}

async fn reset_empties_and_replicas_see_it(db: &Db) {
    let store = db.open().await;
    let replica = db.open().await;
    store
        .commit(Batch {
            mutations: vec![
                put("k", "a", json!(1), Expect::Any),
                put("k", "b", json!(2), Expect::Any),
            ],
            audit: vec![event(1, "111111111111", "CreateUser")],
        })
        .await
        .unwrap();
    let waiter = {
        let replica = replica.clone();
        tokio::spawn(async move {
            replica
                .wait_for_changes(2, Duration::from_secs(10))
                .await
                .unwrap();
            Instant::now()
        })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    let reset_at = Instant::now();
    store.reset().await.unwrap();
    let woke = waiter.await.unwrap();
    assert!(woke.saturating_duration_since(reset_at) < Duration::from_millis(500));

    let feed = replica.changes_since(2, 10).await.unwrap();
    assert_eq!(feed.len(), 1);
    assert!(feed[0].is_reset());
    assert_eq!(feed[0].seq, 3, "seqs keep growing across a reset");
    let snap = replica.snapshot().await.unwrap();
    assert_eq!((snap.records.len(), snap.seq), (0, 3));
    assert!(replica.audit_chain(0, 10).await.unwrap().is_empty());

    // Life goes on after the reset, on a fresh audit chain.
    let changes = store
        .commit(Batch {
            mutations: vec![put("k", "a", json!(3), Expect::Absent)],
            audit: vec![event(2, "111111111111", "CreateUser")],
        })
        .await
        .unwrap();
    assert_eq!(
        (changes[0].seq, changes[0].record.as_ref().unwrap().version),
        (4, 1)
    );
    let report = verify_audit_chain(replica.as_ref(), Some(&test_seal()))
        .await
        .unwrap();
    assert!(report.is_intact(), "{report}");
    assert_eq!(report.head_seq, 1);
}

async fn concurrent_replicas_never_duplicate_or_skip_seqs(db: &Db) {
    const TASKS_PER_REPLICA: usize = 4;
    const COMMITS_PER_TASK: usize = 15;
    let replicas = [db.open().await, db.open().await];
    let mut tasks = Vec::new();
    for (r, store) in replicas.iter().enumerate() {
        for t in 0..TASKS_PER_REPLICA {
            let store = store.clone();
            tasks.push(tokio::spawn(async move {
                let mut puts = BTreeMap::<String, i64>::new();
                let mut created = 0;
                for i in 0..COMMITS_PER_TASK {
                    // Overlapping keys across tasks and replicas.
                    let shared = format!("shared{}", i % 3);
                    let own = format!("r{r}t{t}i{i}");
                    let mut e = event(i as i64, "111111111111", "UpdateUser");
                    e.event_id = format!("{own}-event");
                    let changes = store
                        .commit(Batch {
                            mutations: vec![
                                put("k", &shared, json!([r, t, i]), Expect::Any),
                                put("k", &own, json!(i), Expect::Absent),
                            ],
                            audit: vec![e],
                        })
                        .await
                        .expect("commit");
                    assert_eq!(changes.len(), 2);
                    assert_eq!(
                        changes[1].seq,
                        changes[0].seq + 1,
                        "a batch's seqs are consecutive"
                    );
                    *puts.entry(shared).or_default() += 1;
                    // Racing creations of one record: exactly one wins everywhere.
                    match store
                        .commit(Batch {
                            mutations: vec![put(
                                "race",
                                &format!("{i}"),
                                json!([r, t]),
                                Expect::Absent,
                            )],
                            audit: vec![],
                        })
                        .await
                    {
                        Ok(_) => created += 1,
                        Err(StoreError::Conflict { .. }) => {}
                        Err(e) => panic!("{e}"),
                    }
                }
                (puts, created)
            }));
        }
    }
    let mut puts = BTreeMap::<String, i64>::new();
    let mut created = 0;
    for task in tasks {
        let (p, c) = task.await.unwrap();
        for (k, n) in p {
            *puts.entry(k).or_default() += n;
        }
        created += c;
    }
    assert_eq!(
        created, COMMITS_PER_TASK,
        "one creation of each racing record"
    );

    let feed = all_changes(replicas[0].as_ref()).await;
    let seqs: Vec<i64> = feed.iter().map(|c| c.seq).collect();
    assert_eq!(seqs, (1..=feed.len() as i64).collect::<Vec<_>>());
    let total = 2 * TASKS_PER_REPLICA * COMMITS_PER_TASK;
    assert_eq!(feed.len(), 2 * total + COMMITS_PER_TASK);
    let snap = replicas[1].snapshot().await.unwrap();
    assert_eq!(snap.seq, feed.len() as i64);
    for r in snap.records.iter().filter(|r| r.id.starts_with("shared")) {
        assert_eq!(r.version, puts[&r.id], "every put counted once on {}", r.id);
    }
    let chain = replicas[1].audit_chain(0, 10_000).await.unwrap();
    assert_eq!(chain.len(), total);
    let ids: BTreeSet<_> = chain.iter().map(|e| e.event.event_id.clone()).collect();
    assert_eq!(ids.len(), total);
    let report = verify_audit_chain(replicas[0].as_ref(), Some(&test_seal()))
        .await
        .unwrap();
    assert!(report.is_intact(), "{report}");
}

/// A fresh SQLite store and an audit writer on it with `config` (keep the `Db`: it owns
/// the file).
async fn sqlite_writer(
    config: rampart_store::AuditWriterConfig,
) -> (Db, Arc<dyn Store>, AuditWriter) {
    let db = Db::sqlite();
    let store = db.open().await;
    let writer = AuditWriter::spawn_with(store.clone(), config);
    (db, store, writer)
}

/// On a current-thread runtime the writer's task cannot run between two `record`s, so the
/// queue fills deterministically: the event comes back instead of being dropped.
#[tokio::test(flavor = "current_thread")]
async fn audit_writer_hands_back_events_when_full() {
    let (_db, store, writer) = sqlite_writer(rampart_store::AuditWriterConfig {
        capacity: 2,
        ..Default::default()
    })
    .await;
    writer.record(event(1, "111111111111", "GetUser")).unwrap();
    writer.record(event(2, "111111111111", "GetUser")).unwrap();
    match writer.record(event(3, "111111111111", "GetUser")) {
        Err(rampart_store::RecordError::Full(e)) => assert_eq!(e.record["n"], 3),
        other => panic!("expected Full, got {other:?}"),
    }
    writer
        .record_or_wait(event(3, "111111111111", "GetUser"))
        .await
        .unwrap();
    writer.flush().await.unwrap();
    assert_eq!(store.audit_chain(0, 10).await.unwrap().len(), 3);
}

/// The queue is bounded by bytes too: past `max_bytes` of rendered events it is full
/// whatever the count, and frees up as the writer commits.
#[tokio::test(flavor = "current_thread")]
async fn audit_writer_queue_is_bounded_by_bytes() {
    let (_db, store, writer) = sqlite_writer(rampart_store::AuditWriterConfig {
        max_bytes: 1,
        ..Default::default()
    })
    .await;
    writer.record(event(1, "111111111111", "GetUser")).unwrap();
    match writer.record(event(2, "111111111111", "GetUser")) {
        Err(rampart_store::RecordError::Full(e)) => assert_eq!(e.record["n"], 2),
        other => panic!("expected Full, got {other:?}"),
    }
    let prepared = rampart_store::PreparedAuditEvent::from(event(2, "111111111111", "GetUser"));
    assert_eq!(
        writer.record_prepared(prepared.clone()),
        Err(rampart_store::QueueError::Full)
    );
    writer.flush().await.unwrap();
    // Committed: room again.
    writer.record_prepared(prepared).unwrap();
    writer.flush().await.unwrap();
    let chain = store.audit_chain(0, 10).await.unwrap();
    assert_eq!(chain.len(), 2);
    assert_eq!(chain[1].event.record["n"], 2);
    let report = verify_audit_chain(store.as_ref(), Some(&test_seal()))
        .await
        .unwrap();
    assert!(report.is_intact(), "{report}");
}

/// A full batch that is already queued is committed at once, without the linger: only
/// the rest, less than a batch, waits for it. (On a current-thread runtime the writer's
/// task cannot run before the test yields, so all 25 events are queued when it starts.)
#[tokio::test(flavor = "current_thread")]
async fn audit_writer_does_not_linger_over_a_backlog() {
    let (_db, store, writer) = sqlite_writer(rampart_store::AuditWriterConfig {
        max_batch: 10,
        linger: Duration::from_secs(3600),
        ..Default::default()
    })
    .await;
    for n in 1..=25 {
        writer.record(event(n, "111111111111", "GetUser")).unwrap();
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while store.audit_chain(0, 100).await.unwrap().len() < 20 {
        assert!(
            tokio::time::Instant::now() < deadline,
            "two full batches still not committed"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert_eq!(
        store.audit_chain(0, 100).await.unwrap().len(),
        20,
        "the last five wait for the linger"
    );
    writer.flush().await.unwrap();
    assert_eq!(store.audit_chain(0, 100).await.unwrap().len(), 25);
}

#[tokio::test]
async fn open_accepts_paths_and_urls_and_refuses_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let plain = dir.path().join("plain.db");
    let store = rampart_store::open(plain.to_str().unwrap()).await.unwrap();
    commit(store.as_ref(), vec![put("k", "a", json!(1), Expect::Any)]).await;
    let same = rampart_store::open(&format!("sqlite://{}", plain.display()))
        .await
        .unwrap();
    assert_eq!(same.snapshot().await.unwrap().seq, 1);
    assert!(matches!(
        rampart_store::open("mysql://localhost/db").await,
        Err(StoreError::UnsupportedUrl(_))
    ));
    if let Some(Db::Postgres { url, .. }) = Db::postgres().as_ref() {
        assert!(matches!(
            rampart_store::open_with(url, OpenOptions::default().postgres_schema("bad; name"))
                .await,
            Err(StoreError::InvalidConfig(_))
        ));
    }
}

/// A new SQLite file has 16 KiB pages (fewer WAL frames per audit batch); a file made
/// with SQLite's default 4 KiB pages keeps them when rampart opens and migrates it.
#[tokio::test]
async fn sqlite_page_size_of_new_and_existing_files() {
    let dir = tempfile::tempdir().unwrap();
    let page_size = |path: &std::path::Path| -> i64 {
        rusqlite::Connection::open(path)
            .unwrap()
            .query_row("PRAGMA page_size", [], |r| r.get(0))
            .unwrap()
    };
    let new = dir.path().join("new.db");
    drop(rampart_store::open(new.to_str().unwrap()).await.unwrap());
    assert_eq!(page_size(&new), 16 * 1024);

    // A file that SQLite made with its default page size before rampart first opened it.
    let old = dir.path().join("old.db");
    rusqlite::Connection::open(&old)
        .unwrap()
        .execute_batch("PRAGMA page_size=4096; CREATE TABLE before (x); DROP TABLE before;")
        .unwrap();
    assert_eq!(page_size(&old), 4096);
    let store = rampart_store::open(old.to_str().unwrap()).await.unwrap();
    commit(store.as_ref(), vec![put("k", "a", json!(1), Expect::Any)]).await;
    assert_eq!(store.snapshot().await.unwrap().seq, 1);
    assert_eq!(page_size(&old), 4096);
}

/// A schema chosen through the URL (`options=-csearch_path=...`) is the same database as
/// one chosen through [`OpenOptions`].
#[tokio::test]
async fn postgres_schema_from_the_url() {
    let Some(db) = Db::postgres() else {
        eprintln!("{PG_ENV} is not set: PostgreSQL story not run");
        return;
    };
    let Db::Postgres { url, schema } = &db else {
        unreachable!()
    };
    let store = db.open().await;
    commit(store.as_ref(), vec![put("k", "a", json!(1), Expect::Any)]).await;
    let sep = if url.contains('?') { '&' } else { '?' };
    let by_url = rampart_store::open(&format!("{url}{sep}options=-csearch_path%3D{schema}"))
        .await
        .unwrap();
    assert_eq!(by_url.snapshot().await.unwrap().seq, 1);
}
