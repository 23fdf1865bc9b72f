//! AWS Key Management Service: customer managed keys whose material never leaves
//! rampart, envelope encryption, signing, MACs, key agreement, key policies, aliases and
//! grants.
//!
//! - [`keys`]: the key lifecycle (CreateKey, DescribeKey, ListKeys, enable/disable,
//!   scheduled deletion, description, tags, rotation, imported material);
//! - [`rotation`]: automatic rotation, the sweep that rotates keys whose next rotation
//!   date has passed, and the task that runs it on every replica;
//! - [`crypto`]: Encrypt, Decrypt, ReEncrypt, data keys, GenerateRandom, signatures,
//!   MACs, DeriveSharedSecret, and the symmetric ciphertext format ([`crypto::Envelope`]);
//! - [`material`]: key material per key spec: generation, public keys, signatures, MACs,
//!   ECDH;
//! - [`aliases`], [`grants`], [`policy`]: aliases, grants, key policies;
//! - [`stores_and_replicas`]: custom key stores and multi-Region keys, which rampart's keys
//!   do not have, answered as AWS answers an account without them;
//! - [`authz`]: what each operation asks the policy engine for (the key ARN, KMS's
//!   condition keys) and what grants allow.
//!
//! Key material is generated from the OS CSPRNG, stored only sealed under the master key
//! (each version with `kms.key/KEY-ID#VERSION` as AAD), opened into the view when the
//! record arrives from the change feed, and never returned by any API nor logged (the
//! audit trail redacts the model's sensitive members: plaintexts and private keys).
//!
//! What this module leaves to others: authentication, the authorization decision
//! (`crate::authorize`, which evaluates the key policy from the view), committing a
//! call's mutations and its audit event (the server; only [`rotation`], which no call
//! starts, commits its own).

pub mod aliases;
pub mod authz;
pub mod crypto;
pub mod grants;
pub mod keys;
pub mod material;
pub mod policy;
pub mod rotation;
pub mod stores_and_replicas;
pub mod trail;

use rampart_store::{Expect, Mutation};

use crate::call::{Call, Outcome, from_canonical, to_canonical};
use crate::error::ServiceError;
use crate::records::{self, KmsKey};
use crate::view::View;
use crate::view::kms::KeyEntry;

/// The input of the operations that name only a key.
#[derive(serde::Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyInput {
    pub(crate) key_id: String,
}

/// The KMS operations rampart serves.
pub async fn handle(
    operation: &str,
    call: &Call<'_>,
    input: serde_json::Value,
) -> Result<Outcome, ServiceError> {
    if input.get("Recipient").is_some() {
        // Decrypt, GenerateDataKey(Pair), GenerateRandom and DeriveSharedSecret for a
        // Nitro enclave: AWS answers with the secret encrypted to the enclave's key and
        // no plaintext. rampart cannot check an attestation document, and must not hand
        // the plaintext to a caller who asked that only the enclave see it.
        return Err(error(
            "UnsupportedOperationException",
            "rampart does not support Recipient (Nitro Enclaves attestation).",
        ));
    }
    let i = input;
    match operation {
        "CreateKey" => keys::create(call, from_canonical(i)?),
        "DescribeKey" => keys::describe(call, from_canonical(i)?),
        "ListKeys" => keys::list(call, from_canonical(i)?),
        "EnableKey" => keys::enable(call, from_canonical(i)?),
        "DisableKey" => keys::disable(call, from_canonical(i)?),
        "ScheduleKeyDeletion" => keys::schedule_deletion(call, from_canonical(i)?),
        "CancelKeyDeletion" => keys::cancel_deletion(call, from_canonical(i)?),
        "UpdateKeyDescription" => keys::update_description(call, from_canonical(i)?),
        "TagResource" => keys::tag(call, from_canonical(i)?),
        "UntagResource" => keys::untag(call, from_canonical(i)?),
        "ListResourceTags" => keys::list_tags(call, from_canonical(i)?),
        "EnableKeyRotation" => keys::enable_rotation(call, from_canonical(i)?),
        "DisableKeyRotation" => keys::disable_rotation(call, from_canonical(i)?),
        "GetKeyRotationStatus" => keys::rotation_status(call, from_canonical(i)?),
        "RotateKeyOnDemand" => keys::rotate_on_demand(call, from_canonical(i)?),
        "ListKeyRotations" => keys::list_rotations(call, from_canonical(i)?),
        "GetParametersForImport" => keys::parameters_for_import(call, from_canonical(i)?),
        "ImportKeyMaterial" => keys::import_material(call, from_canonical(i)?),
        "DeleteImportedKeyMaterial" => keys::delete_imported(call, from_canonical(i)?),
        "CreateAlias" => aliases::create(call, from_canonical(i)?),
        "UpdateAlias" => aliases::update(call, from_canonical(i)?),
        "DeleteAlias" => aliases::delete(call, from_canonical(i)?),
        "ListAliases" => aliases::list(call, from_canonical(i)?),
        "GetKeyPolicy" => policy::get(call, from_canonical(i)?),
        "PutKeyPolicy" => policy::put(call, from_canonical(i)?),
        "ListKeyPolicies" => policy::list(call, from_canonical(i)?),
        "Encrypt" => crypto::encrypt(call, from_canonical(i)?),
        "Decrypt" => crypto::decrypt(call, from_canonical(i)?),
        "ReEncrypt" => crypto::re_encrypt(call, &i, from_canonical(i.clone())?),
        "GenerateDataKey" => crypto::generate_data_key(call, from_canonical(i)?, true),
        "GenerateDataKeyWithoutPlaintext" => {
            crypto::generate_data_key(call, from_canonical(i)?, false)
        }
        "GenerateDataKeyPair" => crypto::generate_data_key_pair(call, from_canonical(i)?, true),
        "GenerateDataKeyPairWithoutPlaintext" => {
            crypto::generate_data_key_pair(call, from_canonical(i)?, false)
        }
        "GenerateRandom" => crypto::generate_random(from_canonical(i)?),
        "Sign" => crypto::sign(call, from_canonical(i)?),
        "Verify" => crypto::verify(call, from_canonical(i)?),
        "GetPublicKey" => crypto::get_public_key(call, from_canonical(i)?),
        "DeriveSharedSecret" => crypto::derive_shared_secret(call, from_canonical(i)?),
        "GetKeyLastUsage" => trail::last_usage(call, from_canonical(i)?).await,
        "GenerateMac" => crypto::generate_mac(call, from_canonical(i)?),
        "VerifyMac" => crypto::verify_mac(call, from_canonical(i)?),
        "CreateGrant" => grants::create(call, from_canonical(i)?),
        "ListGrants" => grants::list(call, from_canonical(i)?),
        "ListRetirableGrants" => grants::list_retirable(call, from_canonical(i)?),
        "RetireGrant" => grants::retire(call, from_canonical(i)?),
        "RevokeGrant" => grants::revoke(call, from_canonical(i)?),
        "DescribeCustomKeyStores" => stores_and_replicas::describe_key_stores(from_canonical(i)?),
        "ConnectCustomKeyStore"
        | "DisconnectCustomKeyStore"
        | "UpdateCustomKeyStore"
        | "DeleteCustomKeyStore" => stores_and_replicas::key_store(from_canonical(i)?),
        "CreateCustomKeyStore" => stores_and_replicas::create_key_store(),
        "ReplicateKey" | "UpdatePrimaryRegion" => {
            stores_and_replicas::multi_region(call, from_canonical(i)?)
        }
        _ => Err(ServiceError::not_implemented("kms", operation)),
    }
}

/// A KMS error by its AWS code.
pub(crate) fn error(code: &'static str, message: impl Into<String>) -> ServiceError {
    ServiceError::modeled(code, message)
}

pub(crate) fn not_found(message: impl Into<String>) -> ServiceError {
    error("NotFoundException", message)
}

/// A key id, key ARN, alias name or alias ARN as the caller wrote it, resolved to the
/// key it names, if that key exists (and has not reached its deletion date).
pub(crate) fn lookup<'v>(
    view: &'v View,
    account_id: &str,
    region: &str,
    key_ref: &str,
    now: i64,
) -> Option<&'v KeyEntry> {
    let entry = if let Some(rest) = key_ref.strip_prefix("arn:aws:kms:") {
        let mut parts = rest.splitn(3, ':');
        let (r, a, resource) = (parts.next()?, parts.next()?, parts.next()?);
        // KMS keys and aliases are regional: an ARN of another region names nothing here.
        if r != region {
            return None;
        }
        if resource.starts_with("alias/") {
            let alias = view.kms.alias(a, r, resource)?;
            view.kms.keys.get(&alias.target_key_id)
        } else {
            view.kms.key_by_arn(key_ref)
        }
    } else if key_ref.starts_with("alias/") {
        let alias = view.kms.alias(account_id, region, key_ref)?;
        view.kms.keys.get(&alias.target_key_id)
    } else {
        view.kms
            .keys
            .get(key_ref)
            .filter(|e| e.key.account_id == account_id && e.key.region == region)
    }?;
    (!deleted(&entry.key, now)).then_some(entry)
}

/// A key pending deletion whose deletion date has passed no longer exists.
pub(crate) fn deleted(key: &KmsKey, now: i64) -> bool {
    key.state == "PendingDeletion" && key.deletion_date.is_some_and(|d| d <= now)
}

/// The key `key_ref` names, or AWS's NotFoundException.
pub(crate) fn resolve<'v>(
    view: &'v View,
    call: &Call<'_>,
    key_ref: &str,
) -> Result<&'v KeyEntry, ServiceError> {
    let account = &call.caller.account_id;
    if let Some(entry) = lookup(view, account, call.region, key_ref, call.now.timestamp()) {
        return Ok(entry);
    }
    Err(not_found_message(account, call.region, key_ref))
}

fn not_found_message(account: &str, region: &str, key_ref: &str) -> ServiceError {
    if key_ref.starts_with("alias/") {
        return not_found(format!(
            "Alias arn:aws:kms:{region}:{account}:{key_ref} is not found."
        ));
    }
    if key_ref.starts_with("arn:aws:kms:") {
        if key_ref.contains(":alias/") {
            return not_found(format!("Alias {key_ref} is not found."));
        }
        return not_found(format!("Key '{key_ref}' does not exist"));
    }
    if uuid::Uuid::parse_str(key_ref).is_err() {
        return not_found(format!("Invalid keyId '{key_ref}'"));
    }
    not_found(format!(
        "Key 'arn:aws:kms:{region}:{account}:key/{key_ref}' does not exist"
    ))
}

/// Refuses a key that cannot be used for cryptographic operations at `now`.
pub(crate) fn check_usable(entry: &KeyEntry, now: i64) -> Result<(), ServiceError> {
    let arn = entry.arn();
    match entry.key.state_at(now) {
        "Enabled" => Ok(()),
        "Disabled" => Err(error("DisabledException", format!("{arn} is disabled."))),
        "PendingDeletion" => Err(error(
            "KMSInvalidStateException",
            format!("{arn} is pending deletion."),
        )),
        "PendingImport" => Err(error(
            "KMSInvalidStateException",
            format!("{arn} is pending import."),
        )),
        other => Err(error(
            "KMSInvalidStateException",
            format!("{arn} is {other}."),
        )),
    }
}

/// Refuses a key pending deletion for management operations that AWS refuses then.
pub(crate) fn check_not_pending_deletion(entry: &KeyEntry) -> Result<(), ServiceError> {
    if entry.key.state == "PendingDeletion" {
        return Err(error(
            "KMSInvalidStateException",
            format!("{} is pending deletion.", entry.arn()),
        ));
    }
    Ok(())
}

/// Refuses a key whose usage is not `usage`.
pub(crate) fn check_usage(
    entry: &KeyEntry,
    usage: &str,
    operation: &str,
) -> Result<(), ServiceError> {
    if entry.key.key_usage != usage {
        return Err(error(
            "InvalidKeyUsageException",
            format!(
                "{} key usage is {} which is not valid for {operation}.",
                entry.arn(),
                entry.key.key_usage
            ),
        ));
    }
    Ok(())
}

/// Stores a key record.
pub(crate) fn put_key(key: &KmsKey, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: records::KMS_KEY.to_owned(),
        id: key.key_id.clone(),
        value: to_canonical(key)?,
        expect,
    })
}

/// Base64 as canonical JSON carries blobs. KMS's payloads (plaintexts, ciphertexts,
/// data keys) go through here on every cryptographic call, so it is the SIMD engine:
/// a KiB each way cost a scalar engine about a tenth of an Encrypt's instructions.
pub(crate) fn b64(bytes: &[u8]) -> String {
    base64_simd::STANDARD.encode_to_string(bytes)
}

/// A canonical blob's bytes (the protocol layer has checked it is base64; the decoder
/// is as strict, padding and trailing bits included).
pub(crate) fn unb64(text: &str) -> Result<Vec<u8>, ServiceError> {
    base64_simd::STANDARD
        .decode_to_vec(text)
        .map_err(|_| ServiceError::Validation("blob is not base64".to_owned()))
}

/// KMS's pagination: `Limit` (1-1000, default 100) and an opaque `Marker`.
pub(crate) fn page<T>(
    items: Vec<T>,
    limit: Option<i64>,
    marker: Option<&str>,
) -> Result<(Vec<T>, Option<String>), ServiceError> {
    let limit = limit.unwrap_or(100).clamp(1, 1000) as usize;
    let start = match marker {
        None => 0,
        Some(m) => m
            .parse::<usize>()
            .ok()
            .filter(|&s| s <= items.len())
            .ok_or_else(|| error("InvalidMarkerException", "Invalid marker"))?,
    };
    let end = (start + limit).min(items.len());
    let next = (end < items.len()).then(|| end.to_string());
    Ok((
        items.into_iter().skip(start).take(end - start).collect(),
        next,
    ))
}

/// Adds `Truncated` and `NextMarker` to a list output.
pub(crate) fn paged(mut output: serde_json::Value, next: Option<String>) -> serde_json::Value {
    output["Truncated"] = serde_json::Value::Bool(next.is_some());
    if let Some(next) = next {
        output["NextMarker"] = serde_json::Value::String(next);
    }
    output
}

#[cfg(test)]
mod tests {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;

    use super::{b64, unb64};

    /// The SIMD engine agrees with the base64 crate (which the protocol layer's check is
    /// held to) on every length through a few SIMD blocks, both ways.
    #[test]
    fn blobs_round_trip_as_the_base64_crate_encodes_them() {
        let bytes: Vec<u8> = (0..200u32).map(|i| (i * 37 + 11) as u8).collect();
        for len in 0..bytes.len() {
            let text = b64(&bytes[..len]);
            assert_eq!(text, STANDARD.encode(&bytes[..len]), "length {len}");
            assert_eq!(unb64(&text).unwrap(), &bytes[..len], "length {len}");
        }
    }

    /// What the base64 crate refuses, the blob decoder refuses too: bad characters,
    /// missing or stray padding, non-zero trailing bits.
    #[test]
    fn non_canonical_blobs_are_refused_as_the_base64_crate_refuses_them() {
        for text in [
            "QR==", "QUI=x", "QQ", "QQ=", "Q===", "QUJD\n", "QU JD", "QUJD====", "*UJD",
        ] {
            assert!(STANDARD.decode(text).is_err(), "{text:?}");
            assert!(unb64(text).is_err(), "{text:?}");
        }
    }
}
