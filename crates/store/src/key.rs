//! The master key that seals secrets at rest (secret access keys, KMS key material, MFA seeds).
//!
//! The key is 32 bytes from the OS CSPRNG, kept in a file of its own (raw bytes, mode
//! 0600), never in the database: a stolen database alone reveals no secret. Sealing is
//! AES-256-GCM with a random 96-bit nonce; the sealed form is the text
//! `v1:` + base64(nonce || ciphertext || tag), fit for a JSON string. The associated data
//! (`aad`) binds a sealed value to its place, e.g. `b"iam.access-key/AKIA..."`: a value
//! copied to another record does not open there.
//!
//! A random nonce per seal is safe for far more than 2^32 seals under one key (NIST's
//! limit for random 96-bit nonces); rampart seals a few secrets per write call.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use base64::Engine as _;
use zeroize::Zeroizing;

use crate::{AuditSeal, StoreError};

const KEY_LEN: usize = 32;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
const PREFIX: &str = "v1:";

/// The master key. Its `Debug` shows no key material.
pub struct MasterKey {
    cipher: Aes256Gcm,
    audit_seal: AuditSeal,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(<redacted>)")
    }
}

fn random(buf: &mut [u8]) -> Result<(), StoreError> {
    getrandom::fill(buf).map_err(|e| StoreError::Random(e.to_string()))
}

impl MasterKey {
    /// Uses `bytes` as the key (for keys that come from elsewhere than a file).
    pub fn from_bytes(bytes: &[u8; KEY_LEN]) -> Self {
        MasterKey {
            cipher: Aes256Gcm::new(bytes.into()),
            audit_seal: AuditSeal::derive(bytes),
        }
    }

    /// The key that seals the audit trail's anchored head (derived from this key; give it
    /// to the store with [`crate::OpenOptions::audit_seal`]).
    pub fn audit_seal(&self) -> AuditSeal {
        self.audit_seal.clone()
    }

    /// A new random key, not saved anywhere.
    pub fn generate() -> Result<Self, StoreError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        random(bytes.as_mut())?;
        Ok(Self::from_bytes(&bytes))
    }

    /// Loads the key from `path`, or creates it there (32 random bytes, mode 0600) if the
    /// file does not exist.
    ///
    /// An existing file that the group or others can read or write is refused (like ssh
    /// does with private keys): fix it with `chmod 600 <path>`. A file that is not exactly
    /// 32 bytes is refused too. Creation is atomic: several replicas starting at once on a
    /// shared folder all end up with the same key.
    pub fn load_or_create(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        match std::fs::metadata(path) {
            Ok(_) => Self::load(path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => match Self::create(path) {
                Ok(key) => Ok(key),
                // Another process created it meanwhile: use theirs.
                Err(StoreError::Io { source, .. })
                    if source.kind() == std::io::ErrorKind::AlreadyExists =>
                {
                    Self::load(path)
                }
                Err(e) => Err(e),
            },
            Err(source) => Err(io_error(path, source)),
        }
    }

    fn load(path: &Path) -> Result<Self, StoreError> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(path)
                .map_err(|e| io_error(path, e))?
                .permissions()
                .mode();
            if mode & 0o077 != 0 {
                return Err(key_file(
                    path,
                    format!(
                        "mode {:o} lets other users read or write it; run `chmod 600 {}`",
                        mode & 0o777,
                        path.display()
                    ),
                ));
            }
        }
        let bytes = Zeroizing::new(std::fs::read(path).map_err(|e| io_error(path, e))?);
        let bytes: &[u8; KEY_LEN] = bytes.as_slice().try_into().map_err(|_| {
            key_file(
                path,
                format!(
                    "holds {} bytes, a master key is exactly {KEY_LEN}; restore it from a backup",
                    bytes.len()
                ),
            )
        })?;
        Ok(Self::from_bytes(bytes))
    }

    /// Writes a new key to a temporary file, then links it to `path`, which fails if
    /// `path` exists: the key file appears complete or not at all.
    fn create(path: &Path) -> Result<Self, StoreError> {
        let mut bytes = Zeroizing::new([0u8; KEY_LEN]);
        random(bytes.as_mut())?;
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_owned(),
            _ => PathBuf::from("."),
        };
        let mut suffix = [0u8; 8];
        random(&mut suffix)?;
        let tmp = dir.join(format!(".rampart-master-key.{}.tmp", hex::encode(suffix)));
        let result = (|| -> Result<(), StoreError> {
            let mut options = std::fs::OpenOptions::new();
            options.write(true).create_new(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let mut file = options.open(&tmp).map_err(|e| io_error(&tmp, e))?;
            file.write_all(bytes.as_ref())
                .and_then(|()| file.sync_all())
                .map_err(|e| io_error(&tmp, e))?;
            std::fs::hard_link(&tmp, path).map_err(|e| io_error(path, e))?;
            // Make the new directory entry durable too.
            if let Ok(d) = std::fs::File::open(&dir) {
                let _ = d.sync_all();
            }
            Ok(())
        })();
        let _ = std::fs::remove_file(&tmp);
        result?;
        tracing::info!(path = %path.display(), "created a new master key");
        Ok(Self::from_bytes(&bytes))
    }

    /// Encrypts `plaintext`, bound to `aad`, into `v1:<base64>`.
    pub fn seal(&self, plaintext: &[u8], aad: &[u8]) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        // The OS RNG does not fail on supported platforms once the process runs; if it
        // ever does, refusing to seal beats sealing with a predictable nonce.
        if let Err(e) = random(&mut nonce) {
            panic!("cannot seal a secret: {e}");
        }
        let nonce_arr = Nonce::from(nonce);
        // Encryption fails only for inputs over 64 GiB.
        let ciphertext = self
            .cipher
            .encrypt(
                &nonce_arr,
                Payload {
                    msg: plaintext,
                    aad,
                },
            )
            .unwrap_or_else(|e| panic!("cannot seal a secret: {e}"));
        let mut out = Vec::with_capacity(NONCE_LEN + ciphertext.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ciphertext);
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(out)
        )
    }

    /// Decrypts what [`MasterKey::seal`] produced with the same `aad`.
    pub fn open(&self, sealed: &str, aad: &[u8]) -> Result<Zeroizing<Vec<u8>>, StoreError> {
        let body = sealed
            .strip_prefix(PREFIX)
            .ok_or(StoreError::Unseal("unknown format version"))?;
        let raw = base64::engine::general_purpose::STANDARD
            .decode(body)
            .map_err(|_| StoreError::Unseal("not base64"))?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(StoreError::Unseal("too short"));
        }
        let (nonce, ciphertext) = raw.split_at(NONCE_LEN);
        let nonce: [u8; NONCE_LEN] = nonce
            .try_into()
            .map_err(|_| StoreError::Unseal("too short"))?;
        self.cipher
            .decrypt(
                &Nonce::from(nonce),
                Payload {
                    msg: ciphertext,
                    aad,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| {
                StoreError::Unseal("authentication failed (tampered, other key or other aad)")
            })
    }
}

fn io_error(path: &Path, source: std::io::Error) -> StoreError {
    StoreError::Io {
        path: path.to_owned(),
        source,
    }
}

fn key_file(path: &Path, message: String) -> StoreError {
    StoreError::KeyFile {
        path: path.to_owned(),
        message,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_nonces_differ() {
        let key = MasterKey::generate().unwrap();
        let a = key.seal(b"wJalrXUtnFEMI/K7MDENG", b"iam.access-key/AKIA1");
        let b = key.seal(b"wJalrXUtnFEMI/K7MDENG", b"iam.access-key/AKIA1");
        assert!(a.starts_with("v1:"));
        assert_ne!(a, b, "a fresh nonce per seal");
        let opened = key.open(&a, b"iam.access-key/AKIA1").unwrap();
        assert_eq!(opened.as_slice(), b"wJalrXUtnFEMI/K7MDENG");
        assert_eq!(key.open(&key.seal(b"", b""), b"").unwrap().len(), 0);
    }

    #[test]
    fn tampering_wrong_aad_and_wrong_key_fail() {
        let key = MasterKey::generate().unwrap();
        let sealed = key.seal(b"secret", b"aad");
        let mut raw = base64::engine::general_purpose::STANDARD
            .decode(&sealed[3..])
            .unwrap();
        for i in [0, NONCE_LEN, raw.len() - 1] {
            raw[i] ^= 1;
            let tampered = format!(
                "v1:{}",
                base64::engine::general_purpose::STANDARD.encode(&raw)
            );
            assert!(matches!(
                key.open(&tampered, b"aad"),
                Err(StoreError::Unseal(_))
            ));
            raw[i] ^= 1;
        }
        assert!(matches!(
            key.open(&sealed, b"other"),
            Err(StoreError::Unseal(_))
        ));
        let other = MasterKey::generate().unwrap();
        assert!(matches!(
            other.open(&sealed, b"aad"),
            Err(StoreError::Unseal(_))
        ));
        for bad in ["", "v2:AAAA", "v1:!!!", "v1:AAAA"] {
            assert!(
                matches!(key.open(bad, b"aad"), Err(StoreError::Unseal(_))),
                "{bad}"
            );
        }
    }

    #[test]
    fn debug_shows_no_key() {
        let key = MasterKey::from_bytes(&[0xAB; 32]);
        let text = format!("{key:?}");
        assert_eq!(text, "MasterKey(<redacted>)");
    }

    #[test]
    fn key_file_is_created_0600_and_reloaded() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        let key = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(std::fs::read(&path).unwrap().len(), 32);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }
        let sealed = key.seal(b"s", b"a");
        let again = MasterKey::load_or_create(&path).unwrap();
        assert_eq!(again.open(&sealed, b"a").unwrap().as_slice(), b"s");
        // No temporary file left behind.
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
    }

    #[cfg(unix)]
    #[test]
    fn readable_by_others_or_wrong_length_is_refused() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("master.key");
        MasterKey::load_or_create(&path).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
        let err = MasterKey::load_or_create(&path).unwrap_err();
        assert!(matches!(err, StoreError::KeyFile { .. }), "{err}");
        assert!(err.to_string().contains("chmod 600"), "{err}");

        let short = dir.path().join("short.key");
        std::fs::write(&short, [1u8; 16]).unwrap();
        std::fs::set_permissions(&short, std::fs::Permissions::from_mode(0o600)).unwrap();
        assert!(matches!(
            MasterKey::load_or_create(&short),
            Err(StoreError::KeyFile { .. })
        ));
    }
}
