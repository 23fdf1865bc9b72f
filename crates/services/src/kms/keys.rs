//! The key lifecycle: CreateKey, DescribeKey, ListKeys, Enable/DisableKey,
//! ScheduleKeyDeletion/CancelKeyDeletion, UpdateKeyDescription, tags, rotation and
//! imported key material.
//!
//! A key pending deletion is gone once its deletion date passes (lookups stop finding
//! it). EnableKeyRotation records the schedule (enabled, period, next date);
//! [`super::rotation`] adds the AUTOMATIC material when the date passes, and
//! RotateKeyOnDemand adds ON_DEMAND material at once; both through
//! [`add_rotated_material`].
//!
//! Every write of an existing key insists on the version the view holds, so two
//! concurrent writes of one key (on one replica or several) cannot both land and drop
//! the other's material: the later one conflicts instead.

use rampart_store::Expect;
use rand::RngCore;
use rand_core::OsRng;
use rsa::pkcs8::{DecodePrivateKey, EncodePrivateKey, EncodePublicKey};
use rsa::{Oaep, RsaPrivateKey, RsaPublicKey};
use serde::Deserialize;
use serde_json::{Value, json};

use super::material::{self, Spec};
use super::{
    KeyInput, b64, check_not_pending_deletion, error, page, paged, put_key, resolve, unb64,
};
use crate::call::{Call, Outcome};
use crate::control_plane::ControlPlane;
use crate::error::ServiceError;
use crate::ids;
use crate::records::{KmsImport, KmsKey, KmsMaterial, KmsTag};
use crate::view::kms::{KeyEntry, import_aad, material_aad};

/// AWS's quota of tags per key.
const MAX_TAGS: usize = 50;
/// AWS's quota of on-demand rotations per key.
const MAX_ON_DEMAND_ROTATIONS: usize = 10;
/// Seconds in a day.
pub(super) const DAY: i64 = 86_400;
/// AWS's rotation period when EnableKeyRotation names none.
pub(super) const DEFAULT_ROTATION_PERIOD_DAYS: i64 = 365;

/// The default key policy: the account may use and manage the key through IAM.
pub fn default_policy(account_id: &str) -> String {
    json!({
        "Version": "2012-10-17",
        "Id": "key-default-1",
        "Statement": [{
            "Sid": "Enable IAM User Permissions",
            "Effect": "Allow",
            "Principal": {"AWS": format!("arn:aws:iam::{account_id}:root")},
            "Action": "kms:*",
            "Resource": "*"
        }]
    })
    .to_string()
}

/// DescribeKey's KeyMetadata at `now`.
pub fn metadata(entry: &KeyEntry, now: i64) -> Value {
    let key = &entry.key;
    let state = key.state_at(now);
    let spec = Spec::parse(&key.key_spec);
    let mut m = json!({
        "AWSAccountId": key.account_id,
        "KeyId": key.key_id,
        "Arn": entry.arn(),
        "CreationDate": key.created,
        "Enabled": state == "Enabled",
        "Description": key.description,
        "KeyUsage": key.key_usage,
        "KeyState": state,
        "Origin": key.origin,
        "KeyManager": "CUSTOMER",
        "CustomerMasterKeySpec": key.key_spec,
        "KeySpec": key.key_spec,
        "MultiRegion": false,
    });
    if let Some(spec) = spec {
        match key.key_usage.as_str() {
            "ENCRYPT_DECRYPT" => m["EncryptionAlgorithms"] = json!(spec.encryption_algorithms()),
            "SIGN_VERIFY" => m["SigningAlgorithms"] = json!(spec.signing_algorithms()),
            "KEY_AGREEMENT" => m["KeyAgreementAlgorithms"] = json!(spec.key_agreement_algorithms()),
            _ => m["MacAlgorithms"] = json!(spec.mac_algorithms()),
        }
    }
    if let Some(date) = key.deletion_date {
        m["DeletionDate"] = json!(date);
    }
    if let Some(days) = key.pending_window_days {
        m["PendingDeletionWindowInDays"] = json!(days);
    }
    if key.origin == "EXTERNAL" {
        m["ExpirationModel"] = json!(if key.valid_to.is_some() {
            "KEY_MATERIAL_EXPIRES"
        } else {
            "KEY_MATERIAL_DOES_NOT_EXPIRE"
        });
        if let Some(valid_to) = key.valid_to {
            m["ValidTo"] = json!(valid_to);
        }
    }
    if let Some(material) = key.materials.last() {
        m["CurrentKeyMaterialId"] = json!(material.material_id);
    }
    m
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateKeyInput {
    policy: Option<String>,
    #[serde(default)]
    description: String,
    key_usage: Option<String>,
    customer_master_key_spec: Option<String>,
    key_spec: Option<String>,
    origin: Option<String>,
    custom_key_store_id: Option<String>,
    #[serde(default)]
    tags: Vec<KmsTag>,
    multi_region: Option<bool>,
    #[serde(default)]
    bypass_policy_lockout_safety_check: bool,
}

pub fn create(call: &Call<'_>, input: CreateKeyInput) -> Result<Outcome, ServiceError> {
    if input.customer_master_key_spec.is_some() && input.key_spec.is_some() {
        return Err(ServiceError::Validation(
            "You cannot specify KeySpec and CustomerMasterKeySpec in the same request. CustomerMasterKeySpec is deprecated.".to_owned(),
        ));
    }
    let key_spec = input
        .key_spec
        .or(input.customer_master_key_spec)
        .unwrap_or_else(|| "SYMMETRIC_DEFAULT".to_owned());
    let spec = Spec::parse(&key_spec).ok_or_else(|| {
        error(
            "UnsupportedOperationException",
            format!("KeySpec {key_spec} is not supported in this region."),
        )
    })?;
    let key_usage = input
        .key_usage
        .unwrap_or_else(|| "ENCRYPT_DECRYPT".to_owned());
    if !spec.usages().contains(&key_usage.as_str()) {
        return Err(ServiceError::Validation(format!(
            "KeyUsage {key_usage} is not compatible with KeySpec {key_spec}"
        )));
    }
    let origin = input.origin.unwrap_or_else(|| "AWS_KMS".to_owned());
    if input.custom_key_store_id.is_some() || !matches!(origin.as_str(), "AWS_KMS" | "EXTERNAL") {
        return Err(error(
            "UnsupportedOperationException",
            "rampart does not support custom key stores.",
        ));
    }
    if origin == "EXTERNAL" && spec != Spec::Symmetric {
        return Err(error(
            "UnsupportedOperationException",
            format!("Origin EXTERNAL is not supported for KeySpec {key_spec} in rampart."),
        ));
    }
    if input.multi_region == Some(true) {
        return Err(error(
            "UnsupportedOperationException",
            "rampart does not support multi-Region keys.",
        ));
    }
    check_tags(&input.tags)?;
    let account = &call.caller.account_id;
    let key_id = uuid::Uuid::new_v4().hyphenated().to_string();
    let policy = match input.policy {
        Some(policy) => {
            super::policy::check_document(&policy)?;
            if !input.bypass_policy_lockout_safety_check {
                let arn = format!("arn:aws:kms:{}:{account}:key/{key_id}", call.region);
                super::policy::check_no_lockout(&call.plane.view(), call, &arn, &policy)?;
            }
            policy
        }
        None => default_policy(account),
    };
    let mut key = KmsKey {
        key_id: key_id.clone(),
        account_id: account.clone(),
        region: call.region.to_owned(),
        description: input.description,
        key_usage,
        key_spec,
        origin: origin.clone(),
        created: call.now.timestamp(),
        state: "Enabled".to_owned(),
        deletion_date: None,
        pending_window_days: None,
        policy,
        tags: dedup_tags(input.tags),
        rotation_enabled: false,
        rotation_period_days: None,
        next_rotation: None,
        materials: Vec::new(),
        valid_to: None,
        import: None,
        imported_material_id: None,
    };
    if origin == "EXTERNAL" {
        key.state = "PendingImport".to_owned();
    } else {
        let bytes = material::generate(spec)?;
        key.materials.push(sealed_material(
            call.plane,
            call.now.timestamp(),
            &key_id,
            0,
            &bytes,
            None,
            None,
        ));
    }
    let mutation = put_key(&key, Expect::Absent)?;
    let entry = KeyEntry::new(key, Vec::new(), None, None);
    Ok(Outcome {
        output: json!({ "KeyMetadata": metadata(&entry, call.now.timestamp()) }),
        mutations: vec![mutation],
    })
}

/// A new material version created at `now`, sealed for `key_id` at `version`.
fn sealed_material(
    plane: &ControlPlane,
    now: i64,
    key_id: &str,
    version: usize,
    bytes: &[u8],
    rotation_type: Option<&str>,
    material_id: Option<String>,
) -> KmsMaterial {
    KmsMaterial {
        material_id: material_id
            .unwrap_or_else(|| hex::encode(material::random_bytes(32).as_slice())),
        created: now,
        rotation_type: rotation_type.map(str::to_owned),
        sealed: plane.seal(bytes, &material_aad(key_id, version)),
    }
}

fn check_tags(tags: &[KmsTag]) -> Result<(), ServiceError> {
    if tags.len() > MAX_TAGS {
        return Err(error(
            "LimitExceededException",
            format!("The request would exceed the limit of {MAX_TAGS} tags per key."),
        ));
    }
    if let Some(t) = tags.iter().find(|t| t.tag_key.starts_with("aws:")) {
        return Err(error(
            "TagException",
            format!("Tag key {} uses the reserved prefix aws:.", t.tag_key),
        ));
    }
    Ok(())
}

/// The last value given for each tag key wins, in first-seen order.
fn dedup_tags(tags: Vec<KmsTag>) -> Vec<KmsTag> {
    let mut out: Vec<KmsTag> = Vec::new();
    for tag in tags {
        match out.iter_mut().find(|t| t.tag_key == tag.tag_key) {
            Some(t) => t.tag_value = tag.tag_value,
            None => out.push(tag),
        }
    }
    out
}

pub fn describe(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    Ok(Outcome::output(
        json!({ "KeyMetadata": metadata(entry, call.now.timestamp()) }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let now = call.now.timestamp();
    let mut keys: Vec<&KeyEntry> = view
        .kms
        .keys
        .values()
        .filter(|e| {
            e.key.account_id == call.caller.account_id
                && e.key.region == call.region
                && !super::deleted(&e.key, now)
        })
        .collect();
    keys.sort_by(|a, b| (a.key.created, &a.key.key_id).cmp(&(b.key.created, &b.key.key_id)));
    let (keys, next) = page(keys, input.limit, input.marker.as_deref())?;
    let keys: Vec<Value> = keys
        .iter()
        .map(|e| json!({"KeyId": e.key.key_id, "KeyArn": e.arn()}))
        .collect();
    Ok(Outcome::output(paged(json!({ "Keys": keys }), next)))
}

/// Applies `change` to a copy of the key and stores it (at the version read).
fn update(
    call: &Call<'_>,
    key_ref: &str,
    change: impl FnOnce(&KeyEntry, &mut KmsKey) -> Result<(), ServiceError>,
) -> Result<(KmsKey, Outcome), ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, key_ref)?;
    let mut key = entry.key.clone();
    change(entry, &mut key)?;
    let mutation = view.write_back(put_key(&key, Expect::Any)?);
    Ok((key, Outcome::changed(vec![mutation])))
}

pub fn enable(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    update(call, &input.key_id, |entry, key| {
        check_not_pending_deletion(entry)?;
        if key.state == "PendingImport" {
            return Err(error(
                "KMSInvalidStateException",
                format!("{} is pending import.", entry.arn()),
            ));
        }
        key.state = "Enabled".to_owned();
        Ok(())
    })
    .map(|(_, o)| o)
}

pub fn disable(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    update(call, &input.key_id, |entry, key| {
        check_not_pending_deletion(entry)?;
        if key.state == "PendingImport" {
            return Err(error(
                "KMSInvalidStateException",
                format!("{} is pending import.", entry.arn()),
            ));
        }
        key.state = "Disabled".to_owned();
        Ok(())
    })
    .map(|(_, o)| o)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ScheduleInput {
    key_id: String,
    pending_window_in_days: Option<i64>,
}

pub fn schedule_deletion(call: &Call<'_>, input: ScheduleInput) -> Result<Outcome, ServiceError> {
    let days = input.pending_window_in_days.unwrap_or(30);
    if !(7..=30).contains(&days) {
        return Err(ServiceError::Validation(format!(
            "1 validation error detected: Value '{days}' at 'pendingWindowInDays' failed to satisfy constraint: Member must have value between 7 and 30"
        )));
    }
    let (key, mut outcome) = update(call, &input.key_id, |entry, key| {
        check_not_pending_deletion(entry)?;
        key.state = "PendingDeletion".to_owned();
        key.deletion_date = Some(call.now.timestamp() + days * DAY);
        key.pending_window_days = Some(days);
        Ok(())
    })?;
    outcome.output = json!({
        "KeyId": crate::view::kms::key_arn(&key.region, &key.account_id, &key.key_id),
        "DeletionDate": key.deletion_date,
        "KeyState": "PendingDeletion",
        "PendingWindowInDays": days,
    });
    Ok(outcome)
}

pub fn cancel_deletion(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    let (key, mut outcome) = update(call, &input.key_id, |entry, key| {
        if key.state != "PendingDeletion" {
            return Err(error(
                "KMSInvalidStateException",
                format!("{} is not pending deletion.", entry.arn()),
            ));
        }
        key.state = if key.materials.is_empty() {
            "PendingImport"
        } else {
            "Disabled"
        }
        .to_owned();
        key.deletion_date = None;
        key.pending_window_days = None;
        Ok(())
    })?;
    outcome.output = json!({
        "KeyId": crate::view::kms::key_arn(&key.region, &key.account_id, &key.key_id),
    });
    Ok(outcome)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescriptionInput {
    key_id: String,
    description: String,
}

pub fn update_description(
    call: &Call<'_>,
    input: DescriptionInput,
) -> Result<Outcome, ServiceError> {
    update(call, &input.key_id, |entry, key| {
        check_not_pending_deletion(entry)?;
        key.description = input.description;
        Ok(())
    })
    .map(|(_, o)| o)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    key_id: String,
    tags: Vec<KmsTag>,
}

pub fn tag(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    update(call, &input.key_id, |entry, key| {
        check_not_pending_deletion(entry)?;
        let mut tags = key.tags.clone();
        tags.extend(input.tags);
        let tags = dedup_tags(tags);
        check_tags(&tags)?;
        key.tags = tags;
        Ok(())
    })
    .map(|(_, o)| o)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagInput {
    key_id: String,
    tag_keys: Vec<String>,
}

pub fn untag(call: &Call<'_>, input: UntagInput) -> Result<Outcome, ServiceError> {
    update(call, &input.key_id, |entry, key| {
        check_not_pending_deletion(entry)?;
        key.tags.retain(|t| !input.tag_keys.contains(&t.tag_key));
        Ok(())
    })
    .map(|(_, o)| o)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsInput {
    key_id: String,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn list_tags(call: &Call<'_>, input: ListTagsInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    let (tags, next) = page(entry.key.tags.clone(), input.limit, input.marker.as_deref())?;
    Ok(Outcome::output(paged(json!({ "Tags": tags }), next)))
}

/// Refuses rotation for keys that do not rotate (asymmetric, HMAC, imported) and for
/// keys not usable at `now` (disabled, pending deletion or import).
pub(super) fn check_rotatable(entry: &KeyEntry, now: i64) -> Result<(), ServiceError> {
    super::check_usable(entry, now)?;
    if entry.key.key_spec != "SYMMETRIC_DEFAULT" || entry.key.origin != "AWS_KMS" {
        return Err(origin_not_valid(entry));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RotationInput {
    key_id: String,
    rotation_period_in_days: Option<i64>,
}

pub fn enable_rotation(call: &Call<'_>, input: RotationInput) -> Result<Outcome, ServiceError> {
    let days = input
        .rotation_period_in_days
        .unwrap_or(DEFAULT_ROTATION_PERIOD_DAYS);
    if !(90..=2560).contains(&days) {
        return Err(ServiceError::Validation(format!(
            "1 validation error detected: Value '{days}' at 'rotationPeriodInDays' failed to satisfy constraint: Member must have value between 90 and 2560"
        )));
    }
    update(call, &input.key_id, |entry, key| {
        if key.key_spec != "SYMMETRIC_DEFAULT"
            && super::check_usable(entry, call.now.timestamp()).is_ok()
        {
            return Err(error(
                "UnsupportedOperationException",
                format!("{} key spec is not valid for this operation.", entry.arn()),
            ));
        }
        check_rotatable(entry, call.now.timestamp())?;
        key.rotation_enabled = true;
        key.rotation_period_days = Some(days);
        key.next_rotation = Some(call.now.timestamp() + days * DAY);
        Ok(())
    })
    .map(|(_, o)| o)
}

pub fn disable_rotation(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    update(call, &input.key_id, |entry, key| {
        check_rotatable(entry, call.now.timestamp())?;
        key.rotation_enabled = false;
        key.next_rotation = None;
        Ok(())
    })
    .map(|(_, o)| o)
}

pub fn rotation_status(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    check_not_pending_deletion(entry)?;
    let key = &entry.key;
    let mut out = json!({
        "KeyRotationEnabled": key.rotation_enabled,
        "KeyId": entry.arn(),
    });
    if key.rotation_enabled {
        out["RotationPeriodInDays"] = json!(key.rotation_period_days);
        out["NextRotationDate"] = json!(key.next_rotation);
    }
    Ok(Outcome::output(out))
}

pub fn rotate_on_demand(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    let (key, mut outcome) = update(call, &input.key_id, |entry, key| {
        check_rotatable(entry, call.now.timestamp())?;
        let on_demand = key
            .materials
            .iter()
            .filter(|m| m.rotation_type.as_deref() == Some("ON_DEMAND"))
            .count();
        if on_demand >= MAX_ON_DEMAND_ROTATIONS {
            return Err(error(
                "LimitExceededException",
                format!(
                    "{} has reached the limit of {MAX_ON_DEMAND_ROTATIONS} on-demand rotations.",
                    entry.arn()
                ),
            ));
        }
        add_rotated_material(call.plane, call.now.timestamp(), key, "ON_DEMAND")
    })?;
    outcome.output = json!({
        "KeyId": crate::view::kms::key_arn(&key.region, &key.account_id, &key.key_id),
    });
    Ok(outcome)
}

/// Rotates `key`: adds a new version of symmetric material from the CSPRNG, created at
/// `now` and sealed for its version, which new ciphertexts then use (older ones keep
/// naming theirs). `rotation_type` is `AUTOMATIC` or `ON_DEMAND`.
pub(super) fn add_rotated_material(
    plane: &ControlPlane,
    now: i64,
    key: &mut KmsKey,
    rotation_type: &str,
) -> Result<(), ServiceError> {
    let bytes = material::generate(Spec::Symmetric)?;
    let version = key.materials.len();
    key.materials.push(sealed_material(
        plane,
        now,
        &key.key_id,
        version,
        &bytes,
        Some(rotation_type),
        None,
    ));
    Ok(())
}

pub fn list_rotations(call: &Call<'_>, input: ListTagsInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    check_not_pending_deletion(entry)?;
    if entry.key.key_spec != "SYMMETRIC_DEFAULT" || entry.key.origin != "AWS_KMS" {
        return Err(error(
            "UnsupportedOperationException",
            format!("{} is not valid for this operation.", entry.arn()),
        ));
    }
    let arn = entry.arn();
    let rotations: Vec<Value> = entry
        .key
        .materials
        .iter()
        .skip(1)
        .map(|m| {
            json!({
                "KeyId": arn,
                "KeyMaterialId": m.material_id,
                "RotationDate": m.created,
                "RotationType": m.rotation_type.as_deref().unwrap_or("AUTOMATIC"),
            })
        })
        .collect();
    let (rotations, next) = page(rotations, input.limit, input.marker.as_deref())?;
    Ok(Outcome::output(paged(
        json!({ "Rotations": rotations }),
        next,
    )))
}

/// AWS's refusal of an operation the key's kind (spec, origin) does not allow.
fn origin_not_valid(entry: &KeyEntry) -> ServiceError {
    error(
        "UnsupportedOperationException",
        format!(
            "{} origin is {} which is not valid for this operation.",
            entry.arn(),
            entry.key.origin
        ),
    )
}

/// Refuses import operations on keys whose origin is not EXTERNAL.
fn check_external(entry: &KeyEntry) -> Result<(), ServiceError> {
    check_not_pending_deletion(entry)?;
    if entry.key.origin != "EXTERNAL" {
        return Err(origin_not_valid(entry));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParametersInput {
    key_id: String,
    wrapping_algorithm: String,
    wrapping_key_spec: String,
}

pub fn parameters_for_import(
    call: &Call<'_>,
    input: ParametersInput,
) -> Result<Outcome, ServiceError> {
    if !matches!(
        input.wrapping_algorithm.as_str(),
        "RSAES_OAEP_SHA_1" | "RSAES_OAEP_SHA_256"
    ) {
        return Err(ServiceError::Validation(format!(
            "WrappingAlgorithm {} is not supported by rampart.",
            input.wrapping_algorithm
        )));
    }
    let bits = match input.wrapping_key_spec.as_str() {
        "RSA_2048" => 2048,
        "RSA_3072" => 3072,
        "RSA_4096" => 4096,
        other => {
            return Err(ServiceError::Validation(format!(
                "WrappingKeySpec {other} is not supported."
            )));
        }
    };
    let private = crate::cpu_bound::run(|| RsaPrivateKey::new(&mut OsRng, bits))
        .map_err(|e| ServiceError::Internal(format!("wrapping key: {e}")))?;
    let public = RsaPublicKey::from(&private)
        .to_public_key_der()
        .map_err(|e| ServiceError::Internal(format!("wrapping key: {e}")))?;
    let private_der = private
        .to_pkcs8_der()
        .map_err(|e| ServiceError::Internal(format!("wrapping key: {e}")))?;
    let mut token = [0u8; 32];
    rand::rng().fill_bytes(&mut token);
    let token = b64(&token);
    let expires = call.now.timestamp() + DAY;
    let (key, mut outcome) = update(call, &input.key_id, |entry, key| {
        check_external(entry)?;
        key.import = Some(KmsImport {
            token: token.clone(),
            wrapping_algorithm: input.wrapping_algorithm.clone(),
            sealed_private_key: call
                .plane
                .seal(private_der.as_bytes(), &import_aad(&key.key_id)),
            expires,
        });
        Ok(())
    })?;
    outcome.output = json!({
        "KeyId": crate::view::kms::key_arn(&key.region, &key.account_id, &key.key_id),
        "ImportToken": token,
        "PublicKey": b64(public.as_bytes()),
        "ParametersValidTo": expires,
    });
    Ok(outcome)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ImportInput {
    key_id: String,
    import_token: String,
    encrypted_key_material: String,
    valid_to: Option<f64>,
    expiration_model: Option<String>,
}

pub fn import_material(call: &Call<'_>, input: ImportInput) -> Result<Outcome, ServiceError> {
    let expiration = input
        .expiration_model
        .as_deref()
        .unwrap_or("KEY_MATERIAL_EXPIRES");
    let valid_to = match (expiration, input.valid_to) {
        ("KEY_MATERIAL_EXPIRES", Some(t)) => Some(t as i64),
        ("KEY_MATERIAL_EXPIRES", None) => {
            return Err(ServiceError::Validation(
                "A validTo date must be set if the ExpirationModel is KEY_MATERIAL_EXPIRES"
                    .to_owned(),
            ));
        }
        ("KEY_MATERIAL_DOES_NOT_EXPIRE", None) => None,
        (_, _) => {
            return Err(ServiceError::Validation(
                "A validTo date must not be set if the ExpirationModel is KEY_MATERIAL_DOES_NOT_EXPIRE"
                    .to_owned(),
            ));
        }
    };
    if valid_to.is_some_and(|t| t <= call.now.timestamp()) {
        return Err(ServiceError::Validation(
            "The validTo date must be in the future.".to_owned(),
        ));
    }
    let wrapped = unb64(&input.encrypted_key_material)?;
    update(call, &input.key_id, |entry, key| {
        check_external(entry)?;
        let import = key
            .import
            .take()
            .filter(|i| {
                super::material::constant_time_eq(i.token.as_bytes(), input.import_token.as_bytes())
            })
            .ok_or_else(|| error("InvalidImportTokenException", "Import token is invalid."))?;
        if import.expires <= call.now.timestamp() {
            return Err(error(
                "ExpiredImportTokenException",
                "The import token has expired.",
            ));
        }
        let private = entry
            .import_key
            .as_ref()
            .ok_or_else(|| ServiceError::Internal("wrapping key is not open".to_owned()))?;
        let private = RsaPrivateKey::from_pkcs8_der(private)
            .map_err(|_| ServiceError::Internal("wrapping key does not parse".to_owned()))?;
        let plain = if import.wrapping_algorithm == "RSAES_OAEP_SHA_1" {
            private.decrypt(Oaep::new::<sha1::Sha1>(), &wrapped)
        } else {
            private.decrypt(Oaep::new::<sha2::Sha256>(), &wrapped)
        }
        .map(zeroize::Zeroizing::new)
        .map_err(|_| error("InvalidCiphertextException", ""))?;
        if plain.len() != 32 {
            return Err(error(
                "IncorrectKeyMaterialException",
                "Key material must be 256 bits for a symmetric key.",
            ));
        }
        let material_id = ids::sha256_hex(&plain);
        if let Some(first) = &key.imported_material_id
            && *first != material_id
        {
            return Err(error(
                "IncorrectKeyMaterialException",
                "The key material is not the key material previously imported into this KMS key.",
            ));
        }
        key.materials = vec![sealed_material(
            call.plane,
            call.now.timestamp(),
            &key.key_id,
            0,
            &plain,
            None,
            Some(material_id.clone()),
        )];
        key.imported_material_id = Some(material_id);
        key.valid_to = valid_to;
        key.state = "Enabled".to_owned();
        Ok(())
    })
    .map(|(_, o)| o)
}

pub fn delete_imported(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    update(call, &input.key_id, |entry, key| {
        check_external(entry)?;
        key.materials.clear();
        key.valid_to = None;
        key.state = "PendingImport".to_owned();
        Ok(())
    })
    .map(|(_, o)| o)
}
