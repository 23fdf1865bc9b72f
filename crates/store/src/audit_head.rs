//! The audit trail's anchored head: the seq and digest of the newest event, kept in a row
//! of its own (`audit_head`) that every append rewrites in its transaction, sealed with an
//! HMAC under a key derived from the master key.
//!
//! The digest chain shows an event changed, removed or moved anywhere but at the end: the
//! newest events can be cut off and what is left still links. The anchored head closes
//! that gap. [`crate::verify_audit_chain`] compares it with the chain's last event, and
//! an append refuses to go on from a trail that no longer ends at its head (so a cut is
//! not papered over by the next event). The seal is what someone holding the database but
//! not the master key file cannot forge: a head rewritten to match a cut trail does not
//! verify. What the seal cannot tell is an older genuine head put back together with the
//! trail cut to it: keep `audit verify`'s printed head elsewhere to see that (see
//! docs/store.md).

use hmac::{KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

type HmacSha256 = hmac::Hmac<Sha256>;

/// What the seal's MAC covers before the seq and digest: names the format.
const SEAL_CONTEXT: &[u8] = b"rampart audit head v1";

/// The key that seals the anchored head ([`crate::MasterKey::audit_seal`]). Its `Debug`
/// shows no key material.
#[derive(Clone)]
pub struct AuditSeal {
    key: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for AuditSeal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AuditSeal(<redacted>)")
    }
}

impl AuditSeal {
    /// A seal key derived from `master` (HMAC-SHA256 of a fixed label under it), so that
    /// no other use of the master key ever computes the same MAC.
    pub(crate) fn derive(master: &[u8; 32]) -> Self {
        let mut mac = HmacSha256::new_from_slice(master).expect("HMAC takes any key length");
        mac.update(b"rampart audit head seal key");
        AuditSeal {
            key: Zeroizing::new(mac.finalize().into_bytes().into()),
        }
    }

    fn mac(&self, seq: i64, digest: &str) -> HmacSha256 {
        let mut mac = HmacSha256::new_from_slice(self.key.as_ref()).expect("any key length");
        mac.update(SEAL_CONTEXT);
        mac.update(&seq.to_be_bytes());
        mac.update(digest.as_bytes());
        mac
    }

    /// The seal of the head (`seq`, `digest`): lowercase hex.
    pub fn seal(&self, seq: i64, digest: &str) -> String {
        hex::encode(self.mac(seq, digest).finalize().into_bytes())
    }

    /// Whether `seal` is this key's seal of (`seq`, `digest`) (compared in constant time).
    pub fn verifies(&self, seq: i64, digest: &str, seal: &str) -> bool {
        hex::decode(seal).is_ok_and(|tag| self.mac(seq, digest).verify_slice(&tag).is_ok())
    }
}

/// The `audit_head` row.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditHead {
    /// Seq of the newest event.
    pub seq: i64,
    /// Its digest.
    pub digest: String,
    /// [`AuditSeal::seal`] of both; `None` when written by a store opened without a seal.
    pub seal: Option<String>,
}

impl AuditHead {
    /// The head after an append that ends at (`seq`, `digest`).
    pub(crate) fn new(seq: i64, digest: &str, seal: Option<&AuditSeal>) -> Self {
        AuditHead {
            seq,
            digest: digest.to_owned(),
            seal: seal.map(|s| s.seal(seq, digest)),
        }
    }

    /// Checks, inside an append, that the trail still ends where the head says: `last` is
    /// the seq and digest of the newest stored event (`None`: no event), `anchored` the
    /// stored head.
    pub(crate) fn check_trail_end(
        anchored: Option<&AuditHead>,
        last: Option<(i64, &str)>,
    ) -> Result<(), crate::StoreError> {
        let anchored_end = anchored.map(|h| (h.seq, h.digest.as_str()));
        if anchored_end == last {
            return Ok(());
        }
        let show = |end: Option<(i64, &str)>| match end {
            Some((seq, _)) => format!("event {seq}"),
            None => "no event".to_owned(),
        };
        Err(crate::StoreError::Corrupt(format!(
            "the audit trail ends at {} but its anchored head is {}: events were removed, \
             added or changed behind rampart's back; `rampart audit verify` shows where",
            show(last),
            show(anchored_end),
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seals_bind_seq_digest_and_key() {
        let seal = AuditSeal::derive(&[7; 32]);
        let tag = seal.seal(5, "ab");
        assert!(seal.verifies(5, "ab", &tag));
        assert!(!seal.verifies(4, "ab", &tag));
        assert!(!seal.verifies(5, "ac", &tag));
        assert!(!seal.verifies(5, "ab", "not hex"));
        assert!(!AuditSeal::derive(&[8; 32]).verifies(5, "ab", &tag));
        assert_eq!(format!("{seal:?}"), "AuditSeal(<redacted>)");
    }

    #[test]
    fn an_append_goes_on_only_from_the_anchored_head() {
        let head = AuditHead::new(3, "d3", None);
        assert!(AuditHead::check_trail_end(Some(&head), Some((3, "d3"))).is_ok());
        assert!(AuditHead::check_trail_end(None, None).is_ok());
        for last in [Some((2, "d2")), Some((3, "other")), Some((4, "d4")), None] {
            let err = AuditHead::check_trail_end(Some(&head), last).unwrap_err();
            assert!(
                err.to_string().contains("anchored head is event 3"),
                "{err}"
            );
        }
        assert!(AuditHead::check_trail_end(None, Some((1, "d1"))).is_err());
    }
}
