//! KMS in memory: keys with their material opened (symmetric material with its AES
//! key schedule ready) and their key policies compiled, aliases and grants.
//!
//! Invariant: every key in `keys` has `materials` opened in the order of the record's
//! `materials`, and `policy` compiled from the record's key policy as it is now (a
//! policy that does not compile grants nothing, so the key is then unusable). Nothing
//! here is serialized or logged: `Debug` is not implemented for the opened material.

use std::collections::HashMap;
use std::sync::Arc;

use aes_gcm::{Aes256Gcm, KeyInit};
use rampart_policy::{CompiledPolicy, PolicySet, PolicyType};
use rampart_store::MasterKey;
use zeroize::Zeroizing;

use crate::records::{KmsAlias, KmsGrant, KmsKey};

/// One version of a key's material, opened.
pub struct Material {
    /// The raw bytes (AES and HMAC keys) or PKCS#8 DER (asymmetric keys).
    pub bytes: Zeroizing<Vec<u8>>,
    /// The AES-256-GCM cipher of a symmetric key.
    pub aes: Option<Aes256Gcm>,
}

/// A KMS key as requests use it.
pub struct KeyEntry {
    pub key: KmsKey,
    /// `arn:aws:kms:REGION:ACCOUNT:key/KEY-ID`, written once: requests compare and
    /// quote it several times each.
    arn: String,
    pub materials: Vec<Material>,
    /// The key policy, compiled (`None` when it does not compile).
    pub policy: Option<Arc<PolicySet>>,
    /// The private half of the wrapping key GetParametersForImport handed out (PKCS#8).
    pub import_key: Option<Zeroizing<Vec<u8>>>,
}

impl KeyEntry {
    /// The entry of `key`.
    pub fn new(
        key: KmsKey,
        materials: Vec<Material>,
        policy: Option<Arc<PolicySet>>,
        import_key: Option<Zeroizing<Vec<u8>>>,
    ) -> Self {
        KeyEntry {
            arn: key_arn(&key.region, &key.account_id, &key.key_id),
            key,
            materials,
            policy,
            import_key,
        }
    }

    /// `arn:aws:kms:REGION:ACCOUNT:key/KEY-ID`.
    pub fn arn(&self) -> &str {
        &self.arn
    }
}

/// The ARN of a key.
pub fn key_arn(region: &str, account_id: &str, key_id: &str) -> String {
    format!("arn:aws:kms:{region}:{account_id}:key/{key_id}")
}

/// The AAD a key's material version is sealed with: the record id and the version.
pub fn material_aad(key_id: &str, version: usize) -> Vec<u8> {
    format!("{}/{key_id}#{version}", crate::records::KMS_KEY).into_bytes()
}

/// The AAD the wrapping key of an import is sealed with.
pub fn import_aad(key_id: &str) -> Vec<u8> {
    format!("{}/{key_id}#import", crate::records::KMS_KEY).into_bytes()
}

/// Keys by key id, aliases by record id, grants by grant id.
#[derive(Default)]
pub struct KmsView {
    pub keys: HashMap<String, KeyEntry>,
    pub aliases: HashMap<String, KmsAlias>,
    pub grants: HashMap<String, KmsGrant>,
}

impl KmsView {
    /// The key an ARN `arn:aws:kms:REGION:ACCOUNT:key/ID` names.
    pub fn key_by_arn(&self, arn: &str) -> Option<&KeyEntry> {
        let key_id = arn.strip_prefix("arn:aws:kms:")?.rsplit_once(":key/")?.1;
        self.keys.get(key_id).filter(|e| e.arn() == arn)
    }

    /// The compiled key policy of the key an ARN names.
    pub fn key_policy(&self, arn: &str) -> Option<Arc<PolicySet>> {
        self.key_by_arn(arn).and_then(|e| e.policy.clone())
    }

    /// An alias of an account and region, by `alias/NAME`.
    pub fn alias(&self, account_id: &str, region: &str, name: &str) -> Option<&KmsAlias> {
        self.aliases
            .get(&crate::records::kms_alias_id(account_id, region, name))
    }

    /// Applies one changed key record.
    pub(super) fn put_key(
        &mut self,
        id: &str,
        key: Option<KmsKey>,
        master_key: &MasterKey,
    ) -> Result<(), String> {
        let Some(key) = key else {
            self.keys.remove(id);
            return Ok(());
        };
        let mut materials = Vec::with_capacity(key.materials.len());
        for (version, m) in key.materials.iter().enumerate() {
            let bytes = master_key
                .open(&m.sealed, &material_aad(id, version))
                .map_err(|e| e.to_string())?;
            let aes = (key.key_spec == "SYMMETRIC_DEFAULT")
                .then(|| Aes256Gcm::new_from_slice(&bytes).ok())
                .flatten();
            materials.push(Material { bytes, aes });
        }
        let import_key = match &key.import {
            Some(import) => Some(
                master_key
                    .open(&import.sealed_private_key, &import_aad(id))
                    .map_err(|e| e.to_string())?,
            ),
            None => None,
        };
        let policy = match CompiledPolicy::parse(&key.policy, PolicyType::Resource, id) {
            Ok(p) => Some(Arc::new(PolicySet::single(Arc::new(p)))),
            Err(error) => {
                tracing::error!(%error, key = id, "stored key policy does not compile");
                None
            }
        };
        self.keys.insert(
            id.to_owned(),
            KeyEntry::new(key, materials, policy, import_key),
        );
        Ok(())
    }
}
