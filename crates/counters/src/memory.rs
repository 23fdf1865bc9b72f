//! The one-process backend: shared counts in this process's memory.

use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::{BUCKET, Error, Exchange, SharedCounts, lock};

/// Shared counts for the replicas of one process (and the default for a single
/// `rampart serve`). A bucket is dropped once it is older than its key's time to live,
/// measured from the newest bucket an exchange has named.
#[derive(Debug, Default)]
pub struct MemoryCounts {
    keys: Mutex<HashMap<String, Buckets>>,
}

#[derive(Debug, Default)]
struct Buckets {
    counts: BTreeMap<u64, u64>,
    ttl_buckets: u64,
}

impl SharedCounts for MemoryCounts {
    async fn exchange(&self, entries: &[Exchange<'_>]) -> Result<Vec<Vec<u64>>, Error> {
        let mut keys = lock(&self.keys);
        let newest = entries
            .iter()
            .map(|entry| *entry.read.end())
            .max()
            .unwrap_or(0);
        let mut answers = Vec::with_capacity(entries.len());
        for entry in entries {
            let buckets = keys.entry(entry.key.to_owned()).or_default();
            buckets.ttl_buckets = entry.ttl.as_secs().div_ceil(BUCKET.as_secs());
            for &(bucket, count) in entry.add {
                *buckets.counts.entry(bucket).or_default() += count;
            }
            answers.push(
                entry
                    .read
                    .clone()
                    .map(|bucket| buckets.counts.get(&bucket).copied().unwrap_or(0))
                    .collect(),
            );
        }
        keys.retain(|_, buckets| {
            let oldest_kept = newest.saturating_sub(buckets.ttl_buckets);
            buckets.counts.retain(|&bucket, _| bucket >= oldest_kept);
            !buckets.counts.is_empty()
        });
        Ok(answers)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test]
    async fn adds_then_answers_each_bucket_read_and_expires_old_ones() {
        let shared = MemoryCounts::default();
        let ttl = Duration::from_secs(70);
        let first = shared
            .exchange(&[Exchange {
                key: "k",
                add: &[(10, 3), (11, 2)],
                read: 9..=11,
                ttl,
            }])
            .await
            .unwrap();
        assert_eq!(first, vec![vec![0, 3, 2]]);
        let second = shared
            .exchange(&[
                Exchange {
                    key: "k",
                    add: &[(11, 1)],
                    read: 10..=11,
                    ttl,
                },
                Exchange {
                    key: "j",
                    add: &[],
                    read: 11..=11,
                    ttl,
                },
            ])
            .await
            .unwrap();
        assert_eq!(second, vec![vec![3, 3], vec![0]]);
        // Bucket 100 is 89 buckets past 11: both of k's buckets outlived their 7.
        shared
            .exchange(&[Exchange {
                key: "other",
                add: &[(100, 1)],
                read: 100..=100,
                ttl,
            }])
            .await
            .unwrap();
        assert!(!lock(&shared.keys).contains_key("k"));
    }
}
