//! Request counters over sliding windows, shared by every rampart replica that serves
//! the same load balancers.
//!
//! AWS WAF's rate-based rules count requests per aggregate key (a source IP, a header
//! value, a combination of custom keys) over an evaluation window of 60, 120, 300 or 600
//! seconds, and Shield's detection compares a resource's request rate with its
//! baseline. Both need counts that every replica sees, and neither may put a network
//! round trip on a request's path. So a [`Counters`] counts in memory on the request
//! path, and exchanges its counts with a [`SharedCounts`] backend in the background, once
//! per sync interval: a key's count is the shared total as of the last exchange plus
//! what this replica counted since. Like AWS WAF, which evaluates rates every few
//! seconds, a replica sees the other replicas' requests up to one interval late.
//!
//! Time is cut into buckets of [`BUCKET`] (10 s) counted from the Unix epoch, so replicas
//! agree on them as long as their clocks do (to within a few seconds). A [`Window`] is a
//! whole number of buckets; a key's count is the sum of the buckets the window ending now
//! covers. Between a bucket boundary and the next exchange the oldest bucket is still
//! counted, so a window is up to one sync interval longer than it says.
//!
//! Backends: [`MemoryCounts`] for one process, [`RedisCounts`] for several replicas. A
//! failed exchange keeps this replica's counts for the next one, so an outage of the
//! backend degrades counting to each replica's own requests and loses nothing.
//!
//! ```
//! use rampart_counters::{Counters, Limits, MemoryCounts, Window};
//! use std::time::SystemTime;
//!
//! let counters = Counters::new(MemoryCounts::default(), Limits::default());
//! let window = Window::from_secs(60).unwrap();
//! let now = SystemTime::now();
//! counters.record("rule-1\u{1f}192.0.2.7", window, now);
//! assert_eq!(counters.record("rule-1\u{1f}192.0.2.7", window, now), 2);
//! ```

mod memory;
mod redis_counts;

use std::collections::HashMap;
use std::future::Future;
use std::hash::{BuildHasher, RandomState};
use std::ops::RangeInclusive;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

pub use memory::MemoryCounts;
pub use redis_counts::RedisCounts;

/// The length of one bucket: counts are kept per key and bucket.
pub const BUCKET: Duration = Duration::from_secs(10);

/// The longest window a key may count over (an hour).
const MAX_WINDOW_BUCKETS: u32 = 360;

/// What went wrong.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A window that is not a whole number of buckets between 10 s and an hour.
    #[error("a counting window must be a multiple of 10 seconds from 10 to 3600, not {0}")]
    InvalidWindow(u64),
    /// The Redis backend failed (connection, protocol or server error).
    #[error("shared counters in Redis: {0}")]
    Redis(#[from] redis::RedisError),
}

/// How long a key counts requests: a whole number of [`BUCKET`]s.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    buckets: u32,
}

impl Window {
    /// A window of `secs` seconds: a multiple of 10 from 10 to 3600 (WAF's evaluation
    /// windows are 60, 120, 300 and 600).
    pub fn from_secs(secs: u64) -> Result<Window, Error> {
        let bucket = BUCKET.as_secs();
        if secs == 0 || !secs.is_multiple_of(bucket) || secs / bucket > MAX_WINDOW_BUCKETS as u64 {
            return Err(Error::InvalidWindow(secs));
        }
        Ok(Window {
            buckets: (secs / bucket) as u32,
        })
    }

    /// The number of buckets the window covers.
    pub fn buckets(self) -> u32 {
        self.buckets
    }

    /// The buckets this window covers when it ends with bucket `now`.
    fn span(self, now: u64) -> RangeInclusive<u64> {
        now.saturating_sub(self.buckets as u64 - 1)..=now
    }

    /// How long a backend must keep a bucket: the window plus one bucket of slack.
    fn ttl(self) -> Duration {
        BUCKET * (self.buckets + 1)
    }
}

/// The bucket that instant `at` falls into.
pub fn bucket_of(at: SystemTime) -> u64 {
    at.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs() / BUCKET.as_secs()
}

/// One key's part of an exchange with the shared backend.
#[derive(Debug)]
pub struct Exchange<'a> {
    /// The key, opaque to the backend (the caller names its rule in it).
    pub key: &'a str,
    /// What this replica counted since its last exchange, as (bucket, count).
    pub add: &'a [(u64, u64)],
    /// The buckets whose shared counts are wanted, after the additions.
    pub read: RangeInclusive<u64>,
    /// How long the backend keeps the buckets written.
    pub ttl: Duration,
}

/// Where replicas meet: per key and bucket, the count every replica added.
pub trait SharedCounts: Send + Sync + 'static {
    /// Adds each entry's counts to its key's buckets, then answers, entry by entry, the
    /// shared count of each bucket in the entry's `read` range (oldest first; zero for a
    /// bucket nobody counted).
    fn exchange(
        &self,
        entries: &[Exchange<'_>],
    ) -> impl Future<Output = Result<Vec<Vec<u64>>, Error>> + Send;
}

/// Bounds on what a [`Counters`] keeps in memory.
#[derive(Clone, Copy, Debug)]
pub struct Limits {
    /// The most keys tracked at once. A new key past it is counted for the request that
    /// brought it (its count is 1) but not kept, and the refusal is logged.
    pub max_keys: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits { max_keys: 100_000 }
    }
}

/// One key as this replica knows it.
#[derive(Debug)]
struct Tracked {
    window: Window,
    /// Counted here since the last exchange, as (bucket, count), oldest first.
    pending: Vec<(u64, u64)>,
    /// Counted here and sent in the exchange under way, still counted until its answer
    /// (which includes them) arrives.
    in_flight: Vec<(u64, u64)>,
    /// The shared counts as of the last exchange, as (bucket, count), oldest first;
    /// only buckets inside the window at that exchange.
    shared: Vec<(u64, u64)>,
    /// Every bucket up to this one is final in `shared`: no replica adds to it any more.
    settled_through: Option<u64>,
}

impl Tracked {
    fn new(window: Window) -> Tracked {
        Tracked {
            window,
            pending: Vec::new(),
            in_flight: Vec::new(),
            shared: Vec::new(),
            settled_through: None,
        }
    }

    /// The key's count in the window ending with bucket `now`.
    fn count(&self, now: u64) -> u64 {
        let span = self.window.span(now);
        let sum = |buckets: &[(u64, u64)]| -> u64 {
            buckets
                .iter()
                .filter(|(bucket, _)| span.contains(bucket))
                .map(|(_, count)| count)
                .sum()
        };
        sum(&self.shared) + sum(&self.in_flight) + sum(&self.pending)
    }

    fn add(&mut self, now: u64) {
        match self.pending.last_mut() {
            Some((bucket, count)) if *bucket == now => *count += 1,
            _ => self.pending.push((now, 1)),
        }
    }

    /// The buckets to ask the backend for at bucket `now`: the window, less the buckets
    /// already settled.
    fn to_read(&self, now: u64) -> RangeInclusive<u64> {
        let span = self.window.span(now);
        let first = match self.settled_through {
            Some(settled) => (*span.start()).max(settled + 1),
            None => *span.start(),
        };
        first..=now
    }

    /// Takes in the backend's answer for the buckets `read` at bucket `now`.
    fn absorb(&mut self, read: &RangeInclusive<u64>, counts: &[u64], now: u64) {
        self.in_flight.clear();
        let span = self.window.span(now);
        self.shared
            .retain(|(bucket, _)| span.contains(bucket) && !read.contains(bucket));
        self.shared.extend(
            read.clone()
                .zip(counts.iter().copied())
                .filter(|&(_, count)| count > 0),
        );
        self.shared.sort_unstable_by_key(|&(bucket, _)| bucket);
        // A bucket two behind the current one ended at least 10 s ago: every replica,
        // syncing more often than that, has added to it by now.
        self.settled_through = now.checked_sub(2);
    }

    /// Nothing counted in the window ending with bucket `now`, here or anywhere: what
    /// is still pending lies before the window and no longer matters to anyone.
    fn is_idle(&self, now: u64) -> bool {
        self.count(now) == 0
    }

    /// Moves the pending counts in flight and answers them, to be sent.
    fn send(&mut self) -> Vec<(u64, u64)> {
        self.in_flight = std::mem::take(&mut self.pending);
        self.in_flight.clone()
    }

    /// The exchange failed: what was in flight is pending again, in front of what was
    /// counted since.
    fn restore(&mut self) {
        let mut pending = std::mem::take(&mut self.in_flight);
        for (bucket, count) in self.pending.drain(..) {
            match pending.last_mut() {
                Some((last, total)) if *last == bucket => *total += count,
                _ => pending.push((bucket, count)),
            }
        }
        self.pending = pending;
    }
}

/// The keys of one shard of a [`Counters`].
type Shard = HashMap<Box<str>, Tracked>;

/// One key's part of an exchange under way: its name, the counts sent, the buckets read.
struct Sent {
    key: Box<str>,
    add: Vec<(u64, u64)>,
    read: RangeInclusive<u64>,
    window: Window,
}

/// Sliding-window counters, counted locally and shared through a [`SharedCounts`].
pub struct Counters<S> {
    shared: S,
    limits: Limits,
    hasher: RandomState,
    shards: Box<[Mutex<Shard>]>,
    /// Serializes exchanges, so two syncs never send the same pending counts.
    syncing: tokio::sync::Mutex<()>,
}

const SHARDS: usize = 16;

impl<S: SharedCounts> Counters<S> {
    /// Counters over `shared`, within `limits`.
    pub fn new(shared: S, limits: Limits) -> Counters<S> {
        Counters {
            shared,
            limits,
            hasher: RandomState::new(),
            shards: (0..SHARDS).map(|_| Mutex::default()).collect(),
            syncing: tokio::sync::Mutex::new(()),
        }
    }

    fn shard(&self, key: &str) -> &Mutex<Shard> {
        &self.shards[self.hasher.hash_one(key) as usize % SHARDS]
    }

    /// Counts one request for `key` at `at` and answers the key's count over `window`,
    /// this request included. A key keeps the window it was first counted with.
    pub fn record(&self, key: &str, window: Window, at: SystemTime) -> u64 {
        let now = bucket_of(at);
        let per_shard = self.limits.max_keys.div_ceil(SHARDS);
        let mut shard = lock(self.shard(key));
        if let Some(tracked) = shard.get_mut(key) {
            tracked.add(now);
            return tracked.count(now);
        }
        if shard.len() >= per_shard {
            tracing::warn!(
                max_keys = self.limits.max_keys,
                "request counters full: a new key is not tracked"
            );
            return 1;
        }
        let mut tracked = Tracked::new(window);
        tracked.add(now);
        shard.insert(key.into(), tracked);
        1
    }

    /// The count of `key` at `at` without counting a request; 0 for an untracked key.
    pub fn count(&self, key: &str, at: SystemTime) -> u64 {
        let now = bucket_of(at);
        lock(self.shard(key))
            .get(key)
            .map_or(0, |tracked| tracked.count(now))
    }

    /// How many keys are tracked.
    pub fn tracked(&self) -> usize {
        self.shards.iter().map(|shard| lock(shard).len()).sum()
    }

    /// Exchanges the counts with the backend as of `at`: sends what was counted here
    /// since the last exchange, learns every tracked key's shared count, and forgets the
    /// keys with nothing left in their window. On failure the counts sent are kept for
    /// the next exchange.
    pub async fn sync(&self, at: SystemTime) -> Result<(), Error> {
        let _one_at_a_time = self.syncing.lock().await;
        let now = bucket_of(at);
        // Take every key's pending counts; record() goes on counting into fresh ones.
        let mut batch: Vec<Sent> = Vec::new();
        for shard in self.shards.iter() {
            let mut shard = lock(shard);
            shard.retain(|_, tracked| !tracked.is_idle(now));
            for (key, tracked) in shard.iter_mut() {
                batch.push(Sent {
                    key: key.clone(),
                    read: tracked.to_read(now),
                    add: tracked.send(),
                    window: tracked.window,
                });
            }
        }
        if batch.is_empty() {
            return Ok(());
        }
        let entries: Vec<Exchange<'_>> = batch
            .iter()
            .map(|sent| Exchange {
                key: &sent.key,
                add: &sent.add,
                read: sent.read.clone(),
                ttl: sent.window.ttl(),
            })
            .collect();
        let answer = self.shared.exchange(&entries).await;
        drop(entries);
        for (index, sent) in batch.iter().enumerate() {
            let mut shard = lock(self.shard(&sent.key));
            let Some(tracked) = shard.get_mut(&*sent.key) else {
                continue;
            };
            match answer.as_ref().map(|counts| counts.get(index)) {
                Ok(Some(counts)) => tracked.absorb(&sent.read, counts, now),
                // An answer short of entries is a backend's bug: keep the counts.
                Ok(None) | Err(_) => tracked.restore(),
            }
        }
        answer.map(drop)
    }

    /// Starts a task that calls [`Counters::sync`] every `every` (which must be well
    /// under [`BUCKET`]); a failed exchange is logged and retried at the next tick.
    pub fn spawn_sync(self: Arc<Self>, every: Duration) -> tokio::task::JoinHandle<()> {
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                ticks.tick().await;
                if let Err(error) = self.sync(SystemTime::now()).await {
                    tracing::warn!(%error, "request counters: exchange failed, counts kept for the next one");
                }
            }
        })
    }
}

/// Locks a shard; a panic while it was held cannot leave a count half-written, so a
/// poisoned lock is used as it is.
fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    fn block_on<F: Future>(future: F) -> F::Output {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(future)
    }

    #[test]
    fn windows_are_whole_buckets_up_to_an_hour() {
        assert_eq!(Window::from_secs(60).unwrap().buckets(), 6);
        assert_eq!(Window::from_secs(600).unwrap().buckets(), 60);
        for bad in [0, 5, 65, 3610] {
            assert!(matches!(Window::from_secs(bad), Err(Error::InvalidWindow(s)) if s == bad));
        }
    }

    #[test]
    fn counts_slide_out_of_the_window() {
        let counters = Counters::new(MemoryCounts::default(), Limits::default());
        let minute = Window::from_secs(60).unwrap();
        for _ in 0..5 {
            counters.record("k", minute, at(1_000));
        }
        assert_eq!(counters.record("k", minute, at(1_030)), 6);
        // Bucket 100 (1000-1009 s) is in the window ending at 1059 s, out of 1060's.
        assert_eq!(counters.count("k", at(1_059)), 6);
        assert_eq!(counters.count("k", at(1_060)), 1);
        assert_eq!(counters.count("k", at(1_090)), 0);
        assert_eq!(counters.count("other", at(1_000)), 0);
    }

    #[test]
    fn a_sync_keeps_the_count_and_forgets_idle_keys() {
        let counters = Counters::new(MemoryCounts::default(), Limits::default());
        let minute = Window::from_secs(60).unwrap();
        for second in 0..25 {
            counters.record("k", minute, at(2_000 + second));
        }
        counters.record("gone", minute, at(1_000));
        block_on(counters.sync(at(2_025))).unwrap();
        assert_eq!(counters.count("k", at(2_025)), 25);
        assert_eq!(counters.tracked(), 1, "the idle key is dropped");
        assert_eq!(counters.record("k", minute, at(2_026)), 26);
        block_on(counters.sync(at(2_031))).unwrap();
        assert_eq!(counters.count("k", at(2_031)), 26);
        // Long after: the settled buckets slide out too.
        block_on(counters.sync(at(2_200))).unwrap();
        assert_eq!(counters.tracked(), 0);
    }

    #[test]
    fn keys_past_the_limit_are_counted_once_and_not_kept() {
        let counters = Counters::new(MemoryCounts::default(), Limits { max_keys: SHARDS });
        let minute = Window::from_secs(60).unwrap();
        for key in 0..1_000 {
            counters.record(&key.to_string(), minute, at(0));
        }
        assert!(counters.tracked() <= SHARDS);
        assert!(counters.tracked() > 0);
    }

    #[test]
    fn restored_counts_keep_bucket_order() {
        let mut tracked = Tracked::new(Window::from_secs(60).unwrap());
        tracked.pending = vec![(5, 4), (7, 1)];
        assert_eq!(tracked.send(), vec![(5, 4), (7, 1)]);
        tracked.pending = vec![(7, 2), (8, 1)];
        assert_eq!(tracked.count(8), 8, "in-flight counts still count");
        tracked.restore();
        assert_eq!(tracked.pending, vec![(5, 4), (7, 3), (8, 1)]);
        assert!(tracked.in_flight.is_empty());
    }
}
