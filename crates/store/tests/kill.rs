//! An acknowledged SQLite commit survives `kill -9` of the process.
//!
//! The test re-runs its own binary as a child that commits as fast as it can and prints
//! the seq of every acknowledged commit; the parent kills it with SIGKILL mid-stream,
//! reopens the file, and checks that every acknowledged change and audit event is there,
//! the feed has no gap and the audit chain verifies.

use std::io::{BufRead as _, BufReader, Write as _};
use std::process::{Command, Stdio};

use rampart_store::{AuditEvent, AuditWriter, Batch, Expect, Mutation, verify_audit_chain};

const CHILD_ENV: &str = "RAMPART_STORE_KILL_CHILD_DB";
const TEST_NAME: &str = "acknowledged_sqlite_commits_survive_kill_9";

fn event(n: i64) -> AuditEvent {
    AuditEvent {
        event_id: format!("event-{n}"),
        event_time: chrono::Utc::now(),
        account_id: "111111111111".into(),
        event_name: "CreateUser".into(),
        event_source: "iam.amazonaws.com".into(),
        username: None,
        access_key_id: None,
        read_only: false,
        resources: vec![],
        record: serde_json::json!({"n": n}),
    }
}

/// The child: commits forever, printing what is acknowledged.
fn child(path: &str) -> ! {
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    rt.block_on(async {
        let store = rampart_store::open(path).await.expect("open");
        let writer = AuditWriter::spawn(store.clone());
        let mut out = std::io::stdout();
        for n in 0.. {
            let changes = store
                .commit(Batch {
                    mutations: vec![Mutation::Put {
                        kind: "k".into(),
                        id: format!("r{}", n % 10),
                        value: serde_json::json!(n),
                        expect: Expect::Any,
                    }],
                    audit: vec![event(n)],
                })
                .await
                .expect("commit");
            writer.record(event(-n)).expect("record");
            if n % 10 == 0 {
                writer.flush().await.expect("flush");
            }
            writeln!(out, "committed {}", changes[0].seq).expect("stdout");
            out.flush().expect("stdout");
        }
    });
    unreachable!()
}

#[test]
fn acknowledged_sqlite_commits_survive_kill_9() {
    if let Ok(path) = std::env::var(CHILD_ENV) {
        child(&path);
    }
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("rampart.db");
    let mut proc = Command::new(std::env::current_exe().unwrap())
        .args([TEST_NAME, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, &path)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(proc.stdout.take().unwrap()).lines();
    let mut acknowledged = 0i64;
    while acknowledged < 200 {
        let line = lines.next().expect("child ended early").unwrap();
        if let Some(seq) = line.strip_prefix("committed ") {
            acknowledged = seq.parse().unwrap();
        }
    }
    proc.kill().unwrap(); // SIGKILL
    proc.wait().unwrap();
    // Lines the child printed before it died were acknowledged too.
    for line in lines.map_while(Result::ok) {
        if let Some(seq) = line.strip_prefix("committed ") {
            acknowledged = seq.parse().unwrap();
        }
    }

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let store = rampart_store::open(path.to_str().unwrap()).await.unwrap();
        let snap = store.snapshot().await.unwrap();
        assert!(snap.seq >= acknowledged, "{} < {acknowledged}", snap.seq);
        let feed = store.changes_since(0, 1_000_000).await.unwrap();
        let seqs: Vec<i64> = feed.iter().map(|c| c.seq).collect();
        assert_eq!(seqs, (1..=snap.seq).collect::<Vec<_>>());
        // Every acknowledged commit's audit event is there, and the chain is whole.
        let chain = store.audit_chain(0, 1_000_000).await.unwrap();
        let committed_events = chain
            .iter()
            .filter(|e| e.event.record["n"].as_i64() >= Some(0))
            .count();
        assert!(committed_events as i64 >= acknowledged);
        let report = verify_audit_chain(store.as_ref(), None).await.unwrap();
        assert!(report.is_intact(), "{report}");
    });
}
