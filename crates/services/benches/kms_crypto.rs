//! The cost of KMS's cryptography per call against raw AES-256-GCM on the same machine:
//! sealing and opening 1 KiB with an encryption context through `kms::crypto` (random
//! nonce, header, canonical context as AAD) and with the `aes-gcm` crate directly
//! (same key, nonce from the same CSPRNG, no AAD).
//!
//! Prints `kms_crypto/<op> median_ns=<x>` per operation and
//! `kms_crypto/ratio encrypt_over_raw=<x> decrypt_over_raw=<x>` (target: under 2).
//!
//! Run: `cargo bench -p rampart-services --bench kms_crypto`.

use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::Instant;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use rampart_services::kms::crypto::{self, Envelope};
use rampart_services::kms::material;
use rampart_services::records::KmsKey;
use rampart_services::view::kms::{KeyEntry, Material};

/// Median nanoseconds per call of `f` over `rounds` rounds of `per_round` calls.
fn median_ns(rounds: usize, per_round: usize, mut f: impl FnMut()) -> f64 {
    let mut samples = Vec::with_capacity(rounds);
    for _ in 0..rounds {
        let start = Instant::now();
        for _ in 0..per_round {
            f();
        }
        samples.push(start.elapsed().as_nanos() as f64 / per_round as f64);
    }
    samples.sort_by(f64::total_cmp);
    samples[rounds / 2]
}

fn main() {
    let bytes = material::random_bytes(32);
    let entry = KeyEntry::new(
        KmsKey {
            key_id: uuid::Uuid::new_v4().hyphenated().to_string(),
            account_id: "123456789012".into(),
            region: "us-east-1".into(),
            description: String::new(),
            key_usage: "ENCRYPT_DECRYPT".into(),
            key_spec: "SYMMETRIC_DEFAULT".into(),
            origin: "AWS_KMS".into(),
            created: 0,
            state: "Enabled".into(),
            deletion_date: None,
            pending_window_days: None,
            policy: String::new(),
            tags: Vec::new(),
            rotation_enabled: false,
            rotation_period_days: None,
            next_rotation: None,
            materials: Vec::new(),
            valid_to: None,
            import: None,
            imported_material_id: None,
        },
        vec![Material {
            aes: Some(Aes256Gcm::new_from_slice(&bytes).unwrap()),
            bytes: bytes.clone(),
        }],
        None,
        None,
    );
    let raw = Aes256Gcm::new_from_slice(&bytes).unwrap();
    let plaintext = vec![7u8; 1024];
    let context: BTreeMap<String, String> = [("purpose".to_owned(), "bench".to_owned())]
        .into_iter()
        .collect();

    let (rounds, per_round) = (51, 2_000);
    let kms_encrypt = median_ns(rounds, per_round, || {
        black_box(crypto::seal(&entry, black_box(&plaintext), &context).unwrap());
    });
    let raw_encrypt = median_ns(rounds, per_round, || {
        let nonce: [u8; 12] = material::random_bytes(12).as_slice().try_into().unwrap();
        black_box(
            raw.encrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: black_box(&plaintext),
                    aad: b"",
                },
            )
            .unwrap(),
        );
    });
    let blob = crypto::seal(&entry, &plaintext, &context).unwrap();
    let kms_decrypt = median_ns(rounds, per_round, || {
        let envelope = Envelope::parse(black_box(&blob)).unwrap();
        black_box(crypto::open(&entry, &envelope, &context).unwrap());
    });
    let nonce = [3u8; 12];
    let raw_blob = raw
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: &plaintext,
                aad: b"",
            },
        )
        .unwrap();
    let raw_decrypt = median_ns(rounds, per_round, || {
        black_box(
            raw.decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: black_box(&raw_blob),
                    aad: b"",
                },
            )
            .unwrap(),
        );
    });
    println!("kms_crypto/encrypt_1KiB median_ns={kms_encrypt:.0}");
    println!("kms_crypto/raw_aes_gcm_encrypt_1KiB median_ns={raw_encrypt:.0}");
    println!("kms_crypto/decrypt_1KiB median_ns={kms_decrypt:.0}");
    println!("kms_crypto/raw_aes_gcm_decrypt_1KiB median_ns={raw_decrypt:.0}");
    println!(
        "kms_crypto/ratio encrypt_over_raw={:.2} decrypt_over_raw={:.2}",
        kms_encrypt / raw_encrypt,
        kms_decrypt / raw_decrypt
    );
}
