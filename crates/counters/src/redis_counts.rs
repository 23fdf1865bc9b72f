//! The backend for several replicas: shared counts in Redis, one key per counted key
//! and bucket, each expiring with its window.

use redis::aio::ConnectionManager;

use crate::{Error, Exchange, SharedCounts};

/// Shared counts in Redis. Each (key, bucket) is a Redis integer under
/// `PREFIX:KEY:BUCKET`, added to with INCRBY and given the window's time to live; one
/// exchange is one pipelined round trip. The connection reconnects by itself after a
/// failure.
#[derive(Clone)]
pub struct RedisCounts {
    connection: ConnectionManager,
    prefix: String,
}

impl RedisCounts {
    /// Connects to the Redis at `url` (`redis://HOST:PORT[/DB]`), naming every key it
    /// writes with `prefix` so that several deployments can share one Redis.
    pub async fn connect(url: &str, prefix: &str) -> Result<RedisCounts, Error> {
        let client = redis::Client::open(url)?;
        let connection = ConnectionManager::new(client).await?;
        Ok(RedisCounts {
            connection,
            prefix: prefix.to_owned(),
        })
    }

    fn bucket_key(&self, key: &str, bucket: u64) -> String {
        format!("{}:{key}:{bucket}", self.prefix)
    }
}

impl SharedCounts for RedisCounts {
    async fn exchange(&self, entries: &[Exchange<'_>]) -> Result<Vec<Vec<u64>>, Error> {
        let mut pipe = redis::pipe();
        for entry in entries {
            let ttl = entry.ttl.as_secs().max(1) as i64;
            for &(bucket, count) in entry.add {
                let name = self.bucket_key(entry.key, bucket);
                pipe.incr(&name, count).ignore().expire(&name, ttl).ignore();
            }
            let names: Vec<String> = entry
                .read
                .clone()
                .map(|bucket| self.bucket_key(entry.key, bucket))
                .collect();
            pipe.cmd("MGET").arg(names);
        }
        let mut connection = self.connection.clone();
        let answers: Vec<Vec<Option<u64>>> = pipe.query_async(&mut connection).await?;
        Ok(answers
            .into_iter()
            .map(|counts| counts.into_iter().map(Option::unwrap_or_default).collect())
            .collect())
    }
}
