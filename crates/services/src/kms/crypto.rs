//! The cryptographic operations: Encrypt, Decrypt, ReEncrypt, data keys and data key
//! pairs, GenerateRandom, Sign/Verify, GetPublicKey, GenerateMac/VerifyMac,
//! DeriveSharedSecret.
//!
//! Symmetric ciphertexts ([`Envelope`]) name their key and material version, so Decrypt
//! needs no KeyId and rotated keys still decrypt what older material encrypted:
//!
//! ```text
//! 0x01 | key id (16 bytes, the UUID) | material version (u32 BE) | nonce (12) | AES-256-GCM ciphertext | tag (16)
//! ```
//!
//! The AAD of AES-256-GCM is the 33-byte header followed by the encryption context in
//! canonical form (pairs sorted by key, each key and value prefixed by its u32 BE
//! length), so a changed header byte, a changed ciphertext or tag, or a different
//! context all fail the tag check: InvalidCiphertextException.

use std::collections::BTreeMap;

use aes_gcm::Nonce;
use aes_gcm::aead::{Aead, Payload};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::material::{self, Spec};
use super::{KeyInput, b64, check_usable, check_usage, error, resolve, unb64};
use crate::authorize::{self, Permission};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::view::kms::KeyEntry;

const VERSION: u8 = 1;
const HEADER_LEN: usize = 1 + 16 + 4 + 12;
const TAG_LEN: usize = 16;

/// The parsed header of a symmetric ciphertext.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Envelope<'a> {
    pub key_id: String,
    pub material: u32,
    pub header: &'a [u8],
    pub body: &'a [u8],
}

impl<'a> Envelope<'a> {
    /// Splits a ciphertext into its header fields; `None` when it is not one of ours.
    pub fn parse(blob: &'a [u8]) -> Option<Envelope<'a>> {
        if blob.len() < HEADER_LEN + TAG_LEN {
            return None;
        }
        let (key_id, material) = key_and_material(blob)?;
        Some(Envelope {
            key_id,
            material,
            header: &blob[..HEADER_LEN],
            body: &blob[HEADER_LEN..],
        })
    }
}

/// The key id and material version at the start of a symmetric ciphertext: the
/// version byte, the key's UUID and the material version (21 bytes).
fn key_and_material(start: &[u8]) -> Option<(String, u32)> {
    if start.first() != Some(&VERSION) {
        return None;
    }
    let uuid = uuid::Uuid::from_slice(start.get(1..17)?).ok()?;
    let material = u32::from_be_bytes(start.get(17..21)?.try_into().ok()?);
    Some((uuid.hyphenated().to_string(), material))
}

/// The key id a symmetric ciphertext (base64, as canonical input carries it) names,
/// read from its first 21 bytes (28 base64 characters) without decoding the rest.
pub fn ciphertext_key_id(blob_b64: &str) -> Option<String> {
    let start = unb64(blob_b64.get(..28)?).ok()?;
    key_and_material(&start).map(|(key_id, _)| key_id)
}

/// The encryption context in the canonical form that is bound as AAD.
fn context_aad(header: &[u8], context: &BTreeMap<String, String>) -> Vec<u8> {
    let mut aad = Vec::with_capacity(header.len() + 64);
    aad.extend_from_slice(header);
    for (k, v) in context {
        aad.extend_from_slice(&(k.len() as u32).to_be_bytes());
        aad.extend_from_slice(k.as_bytes());
        aad.extend_from_slice(&(v.len() as u32).to_be_bytes());
        aad.extend_from_slice(v.as_bytes());
    }
    aad
}

/// Encrypts under the current material of a symmetric key.
pub fn seal(
    entry: &KeyEntry,
    plaintext: &[u8],
    context: &BTreeMap<String, String>,
) -> Result<Vec<u8>, ServiceError> {
    let version = entry
        .materials
        .len()
        .checked_sub(1)
        .ok_or_else(|| ServiceError::Internal("key has no material".to_owned()))?;
    let cipher = entry.materials[version]
        .aes
        .as_ref()
        .ok_or_else(|| ServiceError::Internal("not a symmetric key".to_owned()))?;
    let uuid = uuid::Uuid::parse_str(&entry.key.key_id)
        .map_err(|_| ServiceError::Internal("key id is not a UUID".to_owned()))?;
    let mut out = Vec::with_capacity(HEADER_LEN + plaintext.len() + TAG_LEN);
    out.push(VERSION);
    out.extend_from_slice(uuid.as_bytes());
    out.extend_from_slice(&(version as u32).to_be_bytes());
    let nonce = material::random_bytes(12);
    out.extend_from_slice(&nonce);
    let aad = context_aad(&out, context);
    let nonce: [u8; 12] = nonce.as_slice().try_into().unwrap_or_default();
    let body = cipher
        .encrypt(
            &Nonce::from(nonce),
            Payload {
                msg: plaintext,
                aad: &aad,
            },
        )
        .map_err(|_| ServiceError::Internal("encryption failed".to_owned()))?;
    out.extend_from_slice(&body);
    Ok(out)
}

fn invalid_ciphertext() -> ServiceError {
    error("InvalidCiphertextException", "")
}

/// Decrypts a symmetric ciphertext with the key it names.
pub fn open(
    entry: &KeyEntry,
    envelope: &Envelope<'_>,
    context: &BTreeMap<String, String>,
) -> Result<Zeroizing<Vec<u8>>, ServiceError> {
    let cipher = entry
        .materials
        .get(envelope.material as usize)
        .and_then(|m| m.aes.as_ref())
        .ok_or_else(invalid_ciphertext)?;
    let nonce: [u8; 12] = envelope.header[21..33]
        .try_into()
        .map_err(|_| invalid_ciphertext())?;
    let aad = context_aad(envelope.header, context);
    cipher
        .decrypt(
            &Nonce::from(nonce),
            Payload {
                msg: envelope.body,
                aad: &aad,
            },
        )
        .map(Zeroizing::new)
        .map_err(|_| invalid_ciphertext())
}

fn dry_run(dry_run: Option<bool>) -> Result<(), ServiceError> {
    if dry_run == Some(true) {
        return Err(error(
            "DryRunOperationException",
            "The request would have succeeded, but the DryRun option is set.",
        ));
    }
    Ok(())
}

/// The key `key_ref` names, usable now and of key usage `usage`, for `operation`.
fn usable_key<'v>(
    view: &'v crate::view::View,
    call: &Call<'_>,
    key_ref: &str,
    usage: &str,
    operation: &str,
) -> Result<&'v KeyEntry, ServiceError> {
    let entry = resolve(view, call, key_ref)?;
    check_usable(entry, call.now.timestamp())?;
    check_usage(entry, usage, operation)?;
    Ok(entry)
}

/// InvalidKeyUsage unless `algorithm` is one of the key's `supported` (`kind`:
/// "Encryption", "Signing", "MAC", "Key agreement", as the message names it).
fn check_algorithm(
    entry: &KeyEntry,
    supported: &[&str],
    kind: &str,
    algorithm: &str,
) -> Result<(), ServiceError> {
    if supported.contains(&algorithm) {
        return Ok(());
    }
    Err(error(
        "InvalidKeyUsageException",
        format!(
            "{kind} algorithm {algorithm} is not supported for key {}.",
            entry.arn()
        ),
    ))
}

fn spec_of(entry: &KeyEntry) -> Result<Spec, ServiceError> {
    Spec::parse(&entry.key.key_spec)
        .ok_or_else(|| ServiceError::Internal("unknown stored key spec".to_owned()))
}

fn current_material(entry: &KeyEntry) -> Result<&[u8], ServiceError> {
    entry
        .materials
        .last()
        .map(|m| m.bytes.as_slice())
        .ok_or_else(|| ServiceError::Internal("key has no material".to_owned()))
}

fn current_material_id(entry: &KeyEntry) -> Option<String> {
    entry.key.materials.last().map(|m| m.material_id.clone())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptInput {
    key_id: String,
    plaintext: String,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

pub fn encrypt(call: &Call<'_>, input: EncryptInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = usable_key(&view, call, &input.key_id, "ENCRYPT_DECRYPT", "Encrypt")?;
    let plaintext = Zeroizing::new(unb64(&input.plaintext)?);
    let spec = spec_of(entry)?;
    let algorithm = input
        .encryption_algorithm
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_owned());
    check_algorithm(
        entry,
        spec.encryption_algorithms(),
        "Encryption",
        &algorithm,
    )?;
    dry_run(input.dry_run)?;
    let blob = match spec {
        Spec::Symmetric => seal(entry, &plaintext, &input.encryption_context)?,
        Spec::Rsa(bits) => {
            if plaintext.len() > material::rsa_max_plaintext(bits, &algorithm) {
                return Err(ServiceError::Validation(format!(
                    "Plaintext is too long for encryption algorithm {algorithm}."
                )));
            }
            material::rsa_encrypt(current_material(entry)?, &algorithm, &plaintext)?
        }
        _ => unreachable_usage(entry)?,
    };
    Ok(Outcome::output(json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": entry.arn(),
        "EncryptionAlgorithm": algorithm,
    })))
}

fn unreachable_usage(entry: &KeyEntry) -> Result<Vec<u8>, ServiceError> {
    Err(error(
        "InvalidKeyUsageException",
        format!("{} cannot encrypt.", entry.arn()),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DecryptInput {
    ciphertext_blob: String,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
    key_id: Option<String>,
    encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

/// What decrypting a ciphertext gives: the key that decrypted it, the plaintext, the
/// algorithm and the material id.
type Decrypted<'v> = (&'v KeyEntry, Zeroizing<Vec<u8>>, String, Option<String>);

/// Decrypts `blob` as Decrypt and ReEncrypt's source side do; returns the key that
/// decrypted it, the plaintext, the algorithm and the material id.
fn decrypt_blob<'v>(
    view: &'v crate::view::View,
    call: &Call<'_>,
    blob: &[u8],
    key_ref: Option<&str>,
    algorithm: Option<&str>,
    context: &BTreeMap<String, String>,
    operation: &str,
) -> Result<Decrypted<'v>, ServiceError> {
    let algorithm = algorithm.unwrap_or("SYMMETRIC_DEFAULT");
    if algorithm != "SYMMETRIC_DEFAULT" {
        // Asymmetric ciphertexts do not name their key.
        let key_ref = key_ref.ok_or_else(|| {
            ServiceError::Validation("KeyId is required for asymmetric decryption.".to_owned())
        })?;
        let entry = usable_key(view, call, key_ref, "ENCRYPT_DECRYPT", operation)?;
        let spec = spec_of(entry)?;
        if !spec.encryption_algorithms().contains(&algorithm) || spec == Spec::Symmetric {
            return Err(error(
                "IncorrectKeyException",
                "The key ID in the request does not identify a CMK that can perform this operation.",
            ));
        }
        let plain = material::rsa_decrypt(current_material(entry)?, algorithm, blob)
            .ok_or_else(invalid_ciphertext)?;
        return Ok((
            entry,
            plain,
            algorithm.to_owned(),
            current_material_id(entry),
        ));
    }
    let envelope = Envelope::parse(blob).ok_or_else(invalid_ciphertext)?;
    let named = view
        .kms
        .keys
        .get(&envelope.key_id)
        .filter(|e| !super::deleted(&e.key, call.now.timestamp()))
        .ok_or_else(invalid_ciphertext)?;
    if let Some(key_ref) = key_ref {
        let asked = resolve(view, call, key_ref)?;
        if asked.key.key_id != named.key.key_id {
            return Err(error(
                "IncorrectKeyException",
                "The key ID in the request does not identify a CMK that can perform this operation.",
            ));
        }
    }
    check_usable(named, call.now.timestamp())?;
    check_usage(named, "ENCRYPT_DECRYPT", operation)?;
    let plain = open(named, &envelope, context)?;
    let material_id = named
        .key
        .materials
        .get(envelope.material as usize)
        .map(|m| m.material_id.clone());
    Ok((named, plain, algorithm.to_owned(), material_id))
}

pub fn decrypt(call: &Call<'_>, input: DecryptInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let blob = unb64(&input.ciphertext_blob)?;
    let (entry, plain, algorithm, material_id) = decrypt_blob(
        &view,
        call,
        &blob,
        input.key_id.as_deref(),
        input.encryption_algorithm.as_deref(),
        &input.encryption_context,
        "Decrypt",
    )?;
    dry_run(input.dry_run)?;
    Ok(Outcome::output(json!({
        "KeyId": entry.arn(),
        "Plaintext": b64(&plain),
        "EncryptionAlgorithm": algorithm,
        "KeyMaterialId": material_id,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ReEncryptInput {
    ciphertext_blob: String,
    #[serde(default)]
    source_encryption_context: BTreeMap<String, String>,
    source_key_id: Option<String>,
    destination_key_id: String,
    #[serde(default)]
    destination_encryption_context: BTreeMap<String, String>,
    source_encryption_algorithm: Option<String>,
    destination_encryption_algorithm: Option<String>,
    dry_run: Option<bool>,
}

pub fn re_encrypt(
    call: &Call<'_>,
    raw: &Value,
    input: ReEncryptInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let destination = usable_key(
        &view,
        call,
        &input.destination_key_id,
        "ENCRYPT_DECRYPT",
        "ReEncrypt",
    )?;
    // kms:ReEncryptFrom on the source was asked before the handler; the destination
    // needs kms:ReEncryptTo, with the destination's encryption context.
    let mut to_input = raw.clone();
    to_input["EncryptionContext"] = json!(input.destination_encryption_context);
    authorize::check(
        &view,
        call,
        "kms",
        &Permission {
            action: "kms:ReEncryptTo".to_owned(),
            resource: destination.arn().to_owned(),
        },
        &to_input,
    )?;
    let blob = unb64(&input.ciphertext_blob)?;
    let (source, plain, source_algorithm, source_material) = decrypt_blob(
        &view,
        call,
        &blob,
        input.source_key_id.as_deref(),
        input.source_encryption_algorithm.as_deref(),
        &input.source_encryption_context,
        "ReEncrypt",
    )?;
    let algorithm = input
        .destination_encryption_algorithm
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_owned());
    let spec = spec_of(destination)?;
    if !spec.encryption_algorithms().contains(&algorithm.as_str()) {
        return Err(error(
            "InvalidKeyUsageException",
            format!("Encryption algorithm {algorithm} is not supported."),
        ));
    }
    dry_run(input.dry_run)?;
    let out = match spec {
        Spec::Symmetric => seal(destination, &plain, &input.destination_encryption_context)?,
        _ => material::rsa_encrypt(current_material(destination)?, &algorithm, &plain)?,
    };
    Ok(Outcome::output(json!({
        "CiphertextBlob": b64(&out),
        "SourceKeyId": source.arn(),
        "KeyId": destination.arn(),
        "SourceEncryptionAlgorithm": source_algorithm,
        "DestinationEncryptionAlgorithm": algorithm,
        "SourceKeyMaterialId": source_material,
        "DestinationKeyMaterialId": current_material_id(destination),
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataKeyInput {
    key_id: String,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
    number_of_bytes: Option<i64>,
    key_spec: Option<String>,
    dry_run: Option<bool>,
}

pub fn generate_data_key(
    call: &Call<'_>,
    input: DataKeyInput,
    with_plaintext: bool,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let operation = if with_plaintext {
        "GenerateDataKey"
    } else {
        "GenerateDataKeyWithoutPlaintext"
    };
    let entry = usable_key(&view, call, &input.key_id, "ENCRYPT_DECRYPT", operation)?;
    if entry.key.key_spec != "SYMMETRIC_DEFAULT" {
        return Err(error(
            "InvalidKeyUsageException",
            format!("{} is not a symmetric key.", entry.arn()),
        ));
    }
    let n = match (input.key_spec.as_deref(), input.number_of_bytes) {
        (Some("AES_256"), None) => 32,
        (Some("AES_128"), None) => 16,
        (None, Some(n)) if (1..=1024).contains(&n) => n as usize,
        (None, Some(_)) => {
            return Err(ServiceError::Validation(
                "1 validation error detected: Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024".to_owned(),
            ));
        }
        (Some(_), Some(_)) | (None, None) => {
            return Err(ServiceError::Validation(
                "Please specify either number of bytes or key spec.".to_owned(),
            ));
        }
        (Some(spec), None) => {
            return Err(ServiceError::Validation(format!(
                "1 validation error detected: Value '{spec}' at 'keySpec' failed to satisfy constraint: Member must satisfy enum value set: [AES_256, AES_128]"
            )));
        }
    };
    dry_run(input.dry_run)?;
    let plain = material::random_bytes(n);
    let blob = seal(entry, &plain, &input.encryption_context)?;
    let mut out = json!({
        "CiphertextBlob": b64(&blob),
        "KeyId": entry.arn(),
        "KeyMaterialId": current_material_id(entry),
    });
    if with_plaintext {
        out["Plaintext"] = json!(b64(&plain));
    }
    Ok(Outcome::output(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DataKeyPairInput {
    key_id: String,
    #[serde(default)]
    encryption_context: BTreeMap<String, String>,
    key_pair_spec: String,
    dry_run: Option<bool>,
}

pub fn generate_data_key_pair(
    call: &Call<'_>,
    input: DataKeyPairInput,
    with_plaintext: bool,
) -> Result<Outcome, ServiceError> {
    let operation = if with_plaintext {
        "GenerateDataKeyPair"
    } else {
        "GenerateDataKeyPairWithoutPlaintext"
    };
    let spec = {
        let view = call.plane.view();
        let entry = usable_key(&view, call, &input.key_id, "ENCRYPT_DECRYPT", operation)?;
        if entry.key.key_spec != "SYMMETRIC_DEFAULT" {
            return Err(error(
                "InvalidKeyUsageException",
                format!("{} is not a symmetric key.", entry.arn()),
            ));
        }
        let spec = Spec::parse(&input.key_pair_spec)
            .filter(|s| s.is_asymmetric())
            .ok_or_else(|| {
                ServiceError::Validation(format!(
                    "KeyPairSpec {} is not supported.",
                    input.key_pair_spec
                ))
            })?;
        dry_run(input.dry_run)?;
        spec
    };
    // Generated without the view's lock: an RSA-4096 pair can take a second.
    let private = material::generate(spec)?;
    let public = material::public_key_der(spec, &private)?;
    let view = call.plane.view();
    // The key once more, as it is now: it may have been disabled meanwhile.
    let entry = usable_key(&view, call, &input.key_id, "ENCRYPT_DECRYPT", operation)?;
    let blob = seal(entry, &private, &input.encryption_context)?;
    let mut out = json!({
        "PrivateKeyCiphertextBlob": b64(&blob),
        "PublicKey": b64(&public),
        "KeyId": entry.arn(),
        "KeyPairSpec": input.key_pair_spec,
        "KeyMaterialId": current_material_id(entry),
    });
    if with_plaintext {
        out["PrivateKeyPlaintext"] = json!(b64(&private));
    }
    Ok(Outcome::output(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RandomInput {
    number_of_bytes: Option<i64>,
    custom_key_store_id: Option<String>,
}

pub fn generate_random(input: RandomInput) -> Result<Outcome, ServiceError> {
    if let Some(id) = input.custom_key_store_id {
        return Err(error(
            "CustomKeyStoreNotFoundException",
            format!("Custom key store {id} does not exist."),
        ));
    }
    let n = input
        .number_of_bytes
        .ok_or_else(|| ServiceError::Validation("NumberOfBytes is required.".to_owned()))?;
    if !(1..=1024).contains(&n) {
        return Err(ServiceError::Validation(
            "1 validation error detected: Value at 'numberOfBytes' failed to satisfy constraint: Member must have value between 1 and 1024".to_owned(),
        ));
    }
    let bytes = material::random_bytes(n as usize);
    Ok(Outcome::output(json!({ "Plaintext": b64(&bytes) })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SignInput {
    key_id: String,
    message: String,
    message_type: Option<String>,
    signing_algorithm: String,
    /// Verify only.
    signature: Option<String>,
    dry_run: Option<bool>,
}

/// The signing key, its spec and the digest to sign or verify.
fn signing<'v>(
    view: &'v crate::view::View,
    call: &Call<'_>,
    input: &SignInput,
    operation: &str,
) -> Result<(&'v KeyEntry, Spec, Vec<u8>), ServiceError> {
    let entry = usable_key(view, call, &input.key_id, "SIGN_VERIFY", operation)?;
    let spec = spec_of(entry)?;
    check_algorithm(
        entry,
        spec.signing_algorithms(),
        "Signing",
        &input.signing_algorithm,
    )?;
    let message = unb64(&input.message)?;
    let is_digest = match input.message_type.as_deref() {
        None | Some("RAW") => false,
        Some("DIGEST") => true,
        Some(other) => {
            return Err(ServiceError::Validation(format!(
                "MessageType {other} is not supported."
            )));
        }
    };
    let digest = material::digest(&input.signing_algorithm, &message, is_digest)?;
    Ok((entry, spec, digest))
}

pub fn sign(call: &Call<'_>, input: SignInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let (entry, spec, digest) = signing(&view, call, &input, "Sign")?;
    dry_run(input.dry_run)?;
    let signature = material::sign(
        spec,
        current_material(entry)?,
        &input.signing_algorithm,
        &digest,
    )?;
    Ok(Outcome::output(json!({
        "KeyId": entry.arn(),
        "Signature": b64(&signature),
        "SigningAlgorithm": input.signing_algorithm,
    })))
}

pub fn verify(call: &Call<'_>, input: SignInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let (entry, spec, digest) = signing(&view, call, &input, "Verify")?;
    let signature = unb64(input.signature.as_deref().unwrap_or_default())?;
    dry_run(input.dry_run)?;
    let public = material::public_key_der(spec, current_material(entry)?)?;
    if !material::verify(spec, &public, &input.signing_algorithm, &digest, &signature) {
        return Err(error("KMSInvalidSignatureException", ""));
    }
    Ok(Outcome::output(json!({
        "KeyId": entry.arn(),
        "SignatureValid": true,
        "SigningAlgorithm": input.signing_algorithm,
    })))
}

pub fn get_public_key(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    check_usable(entry, call.now.timestamp())?;
    let spec = spec_of(entry)?;
    if !spec.is_asymmetric() {
        return Err(error(
            "UnsupportedOperationException",
            format!("{} key usage is not supported.", entry.arn()),
        ));
    }
    let public = material::public_key_der(spec, current_material(entry)?)?;
    let mut out = json!({
        "KeyId": entry.arn(),
        "PublicKey": b64(&public),
        "CustomerMasterKeySpec": entry.key.key_spec,
        "KeySpec": entry.key.key_spec,
        "KeyUsage": entry.key.key_usage,
    });
    match entry.key.key_usage.as_str() {
        "SIGN_VERIFY" => out["SigningAlgorithms"] = json!(spec.signing_algorithms()),
        "KEY_AGREEMENT" => out["KeyAgreementAlgorithms"] = json!(spec.key_agreement_algorithms()),
        _ => out["EncryptionAlgorithms"] = json!(spec.encryption_algorithms()),
    }
    Ok(Outcome::output(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeriveInput {
    key_id: String,
    key_agreement_algorithm: String,
    public_key: String,
    dry_run: Option<bool>,
}

/// DeriveSharedSecret: ECDH between the key's private key and the peer's public key.
pub fn derive_shared_secret(call: &Call<'_>, input: DeriveInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = usable_key(
        &view,
        call,
        &input.key_id,
        "KEY_AGREEMENT",
        "DeriveSharedSecret",
    )?;
    let spec = spec_of(entry)?;
    check_algorithm(
        entry,
        spec.key_agreement_algorithms(),
        "Key agreement",
        &input.key_agreement_algorithm,
    )?;
    let peer = unb64(&input.public_key)?;
    dry_run(input.dry_run)?;
    let secret = material::derive_shared_secret(spec, current_material(entry)?, &peer)?
        .ok_or_else(|| {
            ServiceError::Validation(format!(
                "PublicKey is not a DER-encoded SubjectPublicKeyInfo of a {} public key.",
                entry.key.key_spec
            ))
        })?;
    Ok(Outcome::output(json!({
        "KeyId": entry.arn(),
        "SharedSecret": b64(&secret),
        "KeyAgreementAlgorithm": input.key_agreement_algorithm,
        "KeyOrigin": entry.key.origin,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MacInput {
    key_id: String,
    message: String,
    mac_algorithm: String,
    /// VerifyMac only.
    mac: Option<String>,
    dry_run: Option<bool>,
}

fn mac_of(
    call: &Call<'_>,
    input: &MacInput,
    operation: &str,
) -> Result<(String, Vec<u8>), ServiceError> {
    let view = call.plane.view();
    let entry = usable_key(&view, call, &input.key_id, "GENERATE_VERIFY_MAC", operation)?;
    let spec = spec_of(entry)?;
    check_algorithm(entry, spec.mac_algorithms(), "MAC", &input.mac_algorithm)?;
    let message = unb64(&input.message)?;
    dry_run(input.dry_run)?;
    let mac = material::mac(current_material(entry)?, &input.mac_algorithm, &message)?;
    Ok((entry.arn().to_owned(), mac))
}

pub fn generate_mac(call: &Call<'_>, input: MacInput) -> Result<Outcome, ServiceError> {
    let (arn, mac) = mac_of(call, &input, "GenerateMac")?;
    Ok(Outcome::output(json!({
        "Mac": b64(&mac),
        "MacAlgorithm": input.mac_algorithm,
        "KeyId": arn,
    })))
}

pub fn verify_mac(call: &Call<'_>, input: MacInput) -> Result<Outcome, ServiceError> {
    let (arn, mac) = mac_of(call, &input, "VerifyMac")?;
    let given = unb64(input.mac.as_deref().unwrap_or_default())?;
    if !material::constant_time_eq(&mac, &given) {
        return Err(error("KMSInvalidMacException", ""));
    }
    Ok(Outcome::output(json!({
        "KeyId": arn,
        "MacValid": true,
        "MacAlgorithm": input.mac_algorithm,
    })))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn envelope_header_names_key_and_version() {
        let mut blob = vec![VERSION];
        let id = uuid::Uuid::new_v4();
        blob.extend_from_slice(id.as_bytes());
        blob.extend_from_slice(&7u32.to_be_bytes());
        blob.extend_from_slice(&[0; 12 + 16]);
        let e = Envelope::parse(&blob).unwrap();
        assert_eq!(e.key_id, id.hyphenated().to_string());
        assert_eq!(e.material, 7);
        assert_eq!(e.body.len(), 16);
        assert!(Envelope::parse(&blob[..40]).is_none());
        blob[0] = 2;
        assert!(Envelope::parse(&blob).is_none());
    }

    #[test]
    fn context_order_does_not_matter_but_content_does() {
        let a: BTreeMap<_, _> = [("b", "2"), ("a", "1")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let b: BTreeMap<_, _> = [("a", "1"), ("b", "2")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_eq!(context_aad(b"h", &a), context_aad(b"h", &b));
        let c: BTreeMap<_, _> = [("a", "12")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let d: BTreeMap<_, _> = [("a", "1"), ("2", "")]
            .into_iter()
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        assert_ne!(context_aad(b"h", &c), context_aad(b"h", &d));
    }
}
