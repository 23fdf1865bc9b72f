//! A bounded cache of derived SigV4 signing keys.
//!
//! Deriving a signing key costs four HMAC-SHA256s; a client signs every request of a day
//! with the same key for one (region, service), so the server keeps the derived key per
//! `(access key id, date, region, service)`. Each entry remembers the secret it was
//! derived from and is used only while the credentials' current secret is that same
//! secret: a rotated or replaced secret (or an access key id reused with another secret)
//! derives afresh. The cache holds at most [`MAX_ENTRIES`] keys; when full it is emptied
//! (a whole day's working set is re-derived at most once per overflow).

use std::collections::HashMap;
use std::sync::{LazyLock, Mutex};

use rampart_protocol::sigv4::{SignedRequest, SigningKey};
use zeroize::Zeroizing;

/// Most keys kept.
pub(crate) const MAX_ENTRIES: usize = 4096;

struct Entry {
    secret: Zeroizing<String>,
    key: SigningKey,
}

static CACHE: LazyLock<Mutex<HashMap<String, Entry>>> = LazyLock::new(Default::default);

fn cache_key(signed: &SignedRequest) -> String {
    let mut k = String::with_capacity(
        signed.access_key_id.len() + signed.scope_date.len() + signed.region.len() + 40,
    );
    for part in [
        signed.access_key_id.as_str(),
        signed.scope_date.as_str(),
        signed.region.as_str(),
    ] {
        k.push_str(part);
        k.push('/');
    }
    k.push_str(&signed.service);
    k
}

/// The signing key of `secret` for the scope of `signed`, derived or from the cache.
pub(crate) fn signing_key(secret: &str, signed: &SignedRequest) -> SigningKey {
    let key = cache_key(signed);
    let cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(entry) = cache.get(&key)
        && entry.secret.as_str() == secret
    {
        return entry.key.clone();
    }
    drop(cache);
    let derived = SigningKey::derive(secret, &signed.scope_date, &signed.region, &signed.service);
    let mut cache = CACHE.lock().unwrap_or_else(|e| e.into_inner());
    if cache.len() >= MAX_ENTRIES && !cache.contains_key(&key) {
        cache.clear();
    }
    cache.insert(
        key,
        Entry {
            secret: Zeroizing::new(secret.to_owned()),
            key: derived.clone(),
        },
    );
    derived
}

#[cfg(test)]
mod tests {
    use super::*;

    fn signed(akid: &str, date: &str) -> SignedRequest {
        SignedRequest {
            access_key_id: akid.into(),
            scope_date: date.into(),
            region: "us-east-1".into(),
            service: "sts".into(),
            signed_headers: Vec::new(),
            signature: String::new(),
            amz_date: String::new(),
            timestamp: 0,
            security_token: None,
            presigned_expires: None,
        }
    }

    fn same(a: &SigningKey, b: &SigningKey) -> bool {
        a.sign("x") == b.sign("x") && a.scope() == b.scope()
    }

    #[test]
    fn cached_keys_equal_derived_ones_and_follow_the_secret() {
        let s = signed("AKIACACHETEST1", "20261201");
        let fresh = SigningKey::derive("secret-1", "20261201", "us-east-1", "sts");
        assert!(same(&signing_key("secret-1", &s), &fresh));
        // From the cache now: still the same key.
        assert!(same(&signing_key("secret-1", &s), &fresh));
        // The secret changed (rotation): the key follows, never the stale one.
        let rotated = SigningKey::derive("secret-2", "20261201", "us-east-1", "sts");
        assert!(same(&signing_key("secret-2", &s), &rotated));
        assert!(!same(&signing_key("secret-2", &s), &fresh));
        // Another date is another scope.
        let next_day = signed("AKIACACHETEST1", "20261202");
        let expected = SigningKey::derive("secret-2", "20261202", "us-east-1", "sts");
        assert!(same(&signing_key("secret-2", &next_day), &expected));
    }

    #[test]
    fn the_cache_stays_bounded() {
        for i in 0..(MAX_ENTRIES + 10) {
            let s = signed(&format!("AKIABOUND{i}"), "20261201");
            let _ = signing_key("secret", &s);
        }
        assert!(CACHE.lock().unwrap().len() <= MAX_ENTRIES);
    }
}
