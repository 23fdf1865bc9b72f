//! What the services benchmarks share: the allocator the `rampart` binary uses, a
//! state built in a real SQLite file and loaded as a server loads it, and timing.

use std::hint::black_box;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rampart_services::{ControlPlane, Settings};
use rampart_store::{Batch, MasterKey, Mutation};

/// The allocator the `rampart` binary uses.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Mutations per commit while building a state.
const BATCH: usize = 2000;

/// A control plane over a SQLite file that holds the records it was built from.
pub struct State {
    pub plane: Arc<ControlPlane>,
    /// How long loading the store into the view took, in milliseconds.
    pub open_ms: f64,
    _dir: tempfile::TempDir,
}

impl State {
    /// Writes `records` into a fresh store, then opens a control plane on it as
    /// `rampart serve` does at start-up.
    pub fn build(
        runtime: &tokio::runtime::Runtime,
        account: &str,
        records: Vec<Mutation>,
    ) -> State {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("rampart.db").display());
        runtime.block_on(async {
            let store = rampart_store::open(&url).await.unwrap();
            let mut mutations = records;
            while !mutations.is_empty() {
                let rest = mutations.split_off(mutations.len().min(BATCH));
                let batch = Batch {
                    mutations,
                    audit: Vec::new(),
                };
                store.commit(batch).await.unwrap();
                mutations = rest;
            }
        });
        let settings = Settings {
            dev: false,
            default_account_id: account.to_owned(),
            regions: vec!["us-east-1".to_owned()],
        };
        let started = Instant::now();
        let plane = runtime.block_on(async {
            let store = rampart_store::open(&url).await.unwrap();
            ControlPlane::open(store, MasterKey::generate().unwrap(), settings)
                .await
                .unwrap()
        });
        State {
            plane,
            open_ms: started.elapsed().as_secs_f64() * 1000.0,
            _dir: dir,
        }
    }
}

/// Median nanoseconds per call of `f` over batches of at least 200 µs.
pub fn median_ns<T>(mut f: impl FnMut() -> T) -> f64 {
    let mut batch = 1u64;
    loop {
        let t = Instant::now();
        for _ in 0..batch {
            black_box(f());
        }
        if t.elapsed() >= Duration::from_micros(200) || batch >= 1 << 20 {
            break;
        }
        batch *= 2;
    }
    let mut samples: Vec<f64> = (0..31)
        .map(|_| {
            let t = Instant::now();
            for _ in 0..batch {
                black_box(f());
            }
            t.elapsed().as_nanos() as f64 / batch as f64
        })
        .collect();
    samples.sort_by(|a, b| a.total_cmp(b));
    samples[samples.len() / 2]
}
