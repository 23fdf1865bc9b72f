//! rampart's evaluator against Cedar on equivalent policy sets.
//!
//! Prints one line per case:
//! `authorize/<size>/<variant> rampart_ns=<median> cedar_ns=<median> ratio=<cedar/rampart>`
//! then parse+compile time for 1000 policies and the compiled size against the
//! JSON size. Medians are over batches timed with `Instant`; setup is outside the
//! timed loops and both engines' decisions are asserted equal first.

use rampart_bench_policy::*;
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Median nanoseconds per call of `f`, over batches sized to last >= 200 us.
fn median_ns<T>(mut f: impl FnMut() -> T, budget: Duration) -> f64 {
    let mut batch = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        if t.elapsed() >= Duration::from_micros(200) || batch >= 1 << 24 {
            break;
        }
        batch *= 2;
    }
    let start = Instant::now();
    let mut samples = Vec::new();
    while samples.len() < 15 || (start.elapsed() < budget && samples.len() < 201) {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        samples.push(t.elapsed().as_nanos() as f64 / batch as f64);
    }
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}

fn main() {
    let budget = Duration::from_millis(
        std::env::var("BENCH_BUDGET_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(400),
    );
    for size in [10usize, 100, 1000] {
        for (variant, set, reqs) in [
            ("selective", selective(size), selective_requests(size)),
            ("dense", dense(size), dense_requests(size)),
        ] {
            for r in &reqs {
                let case = Case::new(&set, r);
                case.check();
                let rampart = median_ns(|| case.rampart(), budget);
                let cedar = median_ns(|| case.cedar(), budget);
                let kind = match r.want {
                    Want::Allow => "allow",
                    Want::Deny => "deny",
                };
                println!(
                    "authorize/{size}/{variant}-{kind} rampart_ns={rampart:.0} cedar_ns={cedar:.0} ratio={:.1}",
                    cedar / rampart
                );
            }
        }
    }
    for (variant, g) in [("selective", selective(1000)), ("dense", dense(1000))] {
        let json_bytes: usize = g.iam_json.iter().map(String::len).sum();
        let mut times = Vec::new();
        let mut size = 0;
        for _ in 0..11 {
            let t = Instant::now();
            let set = black_box(compile_rampart(&g.iam_json));
            times.push(t.elapsed());
            size = set.approx_size();
        }
        times.sort();
        println!(
            "compile/1000/{variant} parse_compile_ms={:.2} json_bytes={json_bytes} compiled_bytes={size} size_ratio={:.2}",
            times[times.len() / 2].as_secs_f64() * 1e3,
            size as f64 / json_bytes as f64
        );
    }
}
