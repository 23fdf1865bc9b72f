//! Two replicas sharing counts through the real Redis on 127.0.0.1:6379 (or
//! RAMPART_TEST_REDIS_URL), including an outage of the connection between them.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use rampart_counters::{Counters, Limits, RedisCounts, Window};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

fn redis_addr() -> String {
    std::env::var("RAMPART_TEST_REDIS_URL")
        .unwrap_or_else(|_| "redis://127.0.0.1:6379".to_owned())
        .trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned()
}

/// A key prefix no other run uses, so runs never see each other's counts.
fn unique_prefix() -> String {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    format!("rampart-test:{}:{nanos}", std::process::id())
}

async fn replica(prefix: &str) -> Counters<RedisCounts> {
    let shared = RedisCounts::connect(&format!("redis://{}", redis_addr()), prefix)
        .await
        .expect("the machine's Redis on 127.0.0.1:6379 answers");
    Counters::new(shared, Limits::default())
}

fn at(secs: u64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(secs)
}

#[tokio::test]
async fn replicas_see_each_others_counts_after_an_exchange() {
    let prefix = unique_prefix();
    let (a, b) = (replica(&prefix).await, replica(&prefix).await);
    let minute = Window::from_secs(60).unwrap();
    // A recent time, so Redis's expiry (relative to its own clock) keeps the buckets.
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    for _ in 0..30 {
        a.record("ip\u{1f}192.0.2.1", minute, at(now));
    }
    for _ in 0..20 {
        b.record("ip\u{1f}192.0.2.1", minute, at(now));
    }
    a.record("ip\u{1f}198.51.100.9", minute, at(now));
    assert_eq!(
        a.count("ip\u{1f}192.0.2.1", at(now)),
        30,
        "before any exchange, only its own"
    );

    a.sync(at(now)).await.unwrap();
    b.sync(at(now)).await.unwrap();
    a.sync(at(now)).await.unwrap();
    assert_eq!(a.count("ip\u{1f}192.0.2.1", at(now)), 50);
    assert_eq!(b.count("ip\u{1f}192.0.2.1", at(now)), 50);
    assert_eq!(b.record("ip\u{1f}192.0.2.1", minute, at(now)), 51);

    // B learns of a key A counted once B counts it too.
    assert_eq!(b.record("ip\u{1f}198.51.100.9", minute, at(now)), 1);
    b.sync(at(now)).await.unwrap();
    assert_eq!(b.count("ip\u{1f}198.51.100.9", at(now)), 2);
}

/// A link to Redis that a test can cut: forwards each connection accepted on
/// `listener` to Redis until [`Link::cut`].
struct Link {
    accept: JoinHandle<()>,
    pipes: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Link {
    fn up(listener: TcpListener) -> Link {
        let pipes = Arc::new(Mutex::new(Vec::new()));
        let accept = tokio::spawn({
            let pipes = pipes.clone();
            async move {
                while let Ok((mut inbound, _)) = listener.accept().await {
                    pipes.lock().unwrap().push(tokio::spawn(async move {
                        if let Ok(mut outbound) = TcpStream::connect(redis_addr()).await {
                            let _ =
                                tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                        }
                    }));
                }
            }
        });
        Link { accept, pipes }
    }

    /// Stops accepting and cuts every connection made through the link.
    fn cut(self) {
        self.accept.abort();
        self.pipes
            .lock()
            .unwrap()
            .drain(..)
            .for_each(|pipe| pipe.abort());
    }
}

#[tokio::test]
async fn counts_taken_for_a_failed_exchange_are_sent_with_the_next() {
    let prefix = unique_prefix();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let link = Link::up(listener);
    let via_proxy = Counters::new(
        RedisCounts::connect(&format!("redis://127.0.0.1:{port}"), &prefix)
            .await
            .unwrap(),
        Limits::default(),
    );
    let direct = replica(&prefix).await;
    let minute = Window::from_secs(60).unwrap();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();

    // The link to Redis goes down.
    link.cut();
    for _ in 0..7 {
        via_proxy.record("k", minute, at(now));
    }
    assert!(
        via_proxy.sync(at(now)).await.is_err(),
        "Redis is out of reach"
    );
    assert_eq!(via_proxy.count("k", at(now)), 7, "nothing is lost locally");

    // The link comes back on the same port; the manager reconnects.
    let _link = Link::up(TcpListener::bind(("127.0.0.1", port)).await.unwrap());
    let mut synced = false;
    for _ in 0..50 {
        if via_proxy.sync(at(now)).await.is_ok() {
            synced = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert!(
        synced,
        "the exchange succeeds once Redis is reachable again"
    );
    assert_eq!(direct.record("k", minute, at(now)), 1);
    direct.sync(at(now)).await.unwrap();
    assert_eq!(
        direct.count("k", at(now)),
        8,
        "the 7 counted during the outage arrived"
    );
}
