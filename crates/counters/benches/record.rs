//! The request path's cost of a counter: `Counters::record` on a key already tracked,
//! among 10,000 tracked keys (a rate-based rule's worth of source addresses).
//!
//! `cargo bench -p rampart-counters --bench record`

use std::time::SystemTime;

use divan::{Bencher, black_box};
use rampart_counters::{Counters, Limits, MemoryCounts, Window};

fn main() {
    divan::main();
}

#[divan::bench]
fn record_among_10_000_keys(bencher: Bencher) {
    let counters = Counters::new(MemoryCounts::default(), Limits::default());
    let window = Window::from_secs(300).unwrap();
    let now = SystemTime::now();
    let keys: Vec<String> = (0..10_000)
        .map(|i| format!("rule\u{1f}10.0.{}.{}", i / 256, i % 256))
        .collect();
    for key in &keys {
        counters.record(key, window, now);
    }
    let mut next = 0;
    bencher.bench_local(|| {
        next = (next + 7919) % keys.len();
        black_box(counters.record(black_box(&keys[next]), window, now))
    });
}
