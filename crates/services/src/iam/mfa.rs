//! Virtual MFA devices: created with a TOTP seed (returned once, as base32 and as a
//! QR code, and stored only sealed under the master key), enabled for a user with two
//! consecutive codes, resynchronised, deactivated and deleted; and the check STS makes
//! when a call presents `SerialNumber` and `TokenCode` ([`verify_token`]).
//!
//! Every accepted code advances the device's replay guard (`last_step`) in the same
//! outcome as the call it authenticates, under the version the check read: a code
//! is good once, even against two racing requests.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use super::entity::user_output;
use super::paging::Paging;
use super::totp;
use super::{already_exists, check_count, delete_conflict, no_such_entity};
use crate::call::{Call, Outcome, to_canonical};
use crate::caller::{Caller, PrincipalType};
use crate::error::ServiceError;
use crate::records::{self, MfaDevice, Tag};
use crate::view::{MfaEntry, View};

/// AWS's quota of MFA devices per user.
const DEVICES_PER_USER: usize = 8;
/// Virtual MFA devices per account (AWS: as many as the user quota).
const DEVICES_PER_ACCOUNT: usize = 5000;
/// The issuer an authenticator app shows for the device.
const ISSUER: &str = "rampart";
/// How much of the device name the QR code's label shows.
const LABEL_CHARS: usize = 64;
/// The longest device name, and the longest serial number (the model's).
const NAME_MAX: usize = 226;
const SERIAL_MAX: usize = 256;

/// STS's message for a code that does not match (the trailing space is AWS's).
pub(crate) const INVALID_CODE: &str =
    "MultiFactorAuthentication failed with invalid MFA one time pass code. ";
/// STS's message for a serial number that is not an MFA device of the caller.
pub(crate) const UNKNOWN_DEVICE: &str = "MultiFactorAuthentication failed, unable to validate MFA code.  Please verify your MFA serial number is valid and associated with this user.";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    #[serde(rename = "VirtualMFADeviceName")]
    name: String,
    path: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CodesInput {
    user_name: String,
    serial_number: String,
    authentication_code1: String,
    authentication_code2: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeviceInput {
    user_name: Option<String>,
    serial_number: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    user_name: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
pub enum AssignmentStatus {
    Assigned,
    Unassigned,
    Any,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListVirtualInput {
    assignment_status: Option<AssignmentStatus>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    serial_number: String,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagInput {
    serial_number: String,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsInput {
    serial_number: String,
    #[serde(flatten)]
    paging: Paging,
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let account_id = &call.caller.account_id;
    let view = call.plane.view();
    let mut device = MfaDevice {
        account_id: account_id.clone(),
        name: input.name,
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: call.now.timestamp(),
        sealed_seed: String::new(),
        user_name: None,
        enabled: None,
        last_step: 0,
        drift: 0,
        tags: input.tags,
    };
    let serial = device.serial_number();
    check_name(&device.name, &serial)?;
    let id = records::mfa_device_id(&serial);
    if view.mfa_devices.contains_key(&id) {
        return Err(already_exists(
            "MFADevice entity at the same path and name already exists.".to_owned(),
        ));
    }
    let count = devices_of_account(&view, account_id).count();
    check_count(count, "VirtualMFADevicesPerAccount", DEVICES_PER_ACCOUNT)?;
    super::tags::check_new(&device.tags)?;
    let seed = totp::new_seed();
    let base32 = totp::base32(&seed);
    device.sealed_seed = call.plane.seal(base32.as_bytes(), id.as_bytes());
    let holder = view
        .account_aliases
        .values()
        .find(|a| &a.account_id == account_id)
        .map_or(account_id.as_str(), |a| a.alias.as_str());
    // The label is only what the app shows: a long name is cut so the QR code always
    // has room for it (names have no maximum length in the model).
    let shown: String = device.name.chars().take(LABEL_CHARS).collect();
    let uri = totp::otpauth_uri(ISSUER, &format!("{shown}@{holder}"), &base32);
    let png = totp::qr_png(&uri).map_err(ServiceError::Internal)?;
    let mut out = json!({
        "SerialNumber": serial,
        "Base32StringSeed": STANDARD.encode(base32.as_bytes()),
        "QRCodePNG": STANDARD.encode(&*png),
    });
    if !device.tags.is_empty() {
        out["Tags"] = json!(device.tags);
    }
    Ok(Outcome {
        output: json!({ "VirtualMFADevice": out }),
        mutations: vec![put(&device, Expect::Absent)?],
    })
}

pub fn enable(call: &Call<'_>, input: CodesInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let user = super::users::find(&view, account, &input.user_name)?;
    let entry = find(&view, account, &input.serial_number)?;
    if entry.device.user_name.is_some() {
        return Err(already_exists("MFA Device is already in use.".to_owned()));
    }
    if devices_of_user(&view, account, &user.user_name).count() >= DEVICES_PER_USER {
        return Err(super::limit_exceeded("MFADevicesPerUser", DEVICES_PER_USER));
    }
    let now = call.now.timestamp();
    let step = totp::accept_pair(
        &entry.seed,
        &input.authentication_code1,
        &input.authentication_code2,
        now,
        totp::WINDOW,
        entry.device.last_step,
    )
    .ok_or_else(invalid_authentication_code)?;
    let mut device = entry.device.clone();
    device.user_name = Some(user.user_name.clone());
    device.enabled = Some(now);
    device.last_step = step;
    // The codes are typed as they appear, so they are of the last steps: they say
    // nothing of the device's clock (ResyncMFADevice measures that).
    device.drift = 0;
    Ok(Outcome::changed(vec![
        view.write_back(put(&device, Expect::Any)?),
    ]))
}

pub fn resync(call: &Call<'_>, input: CodesInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let user = super::users::find(&view, account, &input.user_name)?;
    let entry = find(&view, account, &input.serial_number)?;
    if !assigned_to(&entry.device, &user.user_name) {
        return Err(invalid_for_user());
    }
    let now = call.now.timestamp();
    let step = totp::accept_pair(
        &entry.seed,
        &input.authentication_code1,
        &input.authentication_code2,
        now,
        totp::RESYNC_WINDOW,
        entry.device.last_step,
    )
    .ok_or_else(invalid_authentication_code)?;
    let mut device = entry.device.clone();
    device.last_step = step;
    device.drift = step - totp::step_at(now);
    Ok(Outcome::changed(vec![
        view.write_back(put(&device, Expect::Any)?),
    ]))
}

pub fn deactivate(call: &Call<'_>, input: DeviceInput) -> Result<Outcome, ServiceError> {
    let name = super::target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let user = super::users::find(&view, account, name)?;
    let entry = find(&view, account, &input.serial_number)?;
    if !assigned_to(&entry.device, &user.user_name) {
        return Err(invalid_for_user());
    }
    let mut device = entry.device.clone();
    device.user_name = None;
    device.enabled = None;
    device.drift = 0;
    // The replay guard stays: a code used before deactivation is still used.
    Ok(Outcome::changed(vec![
        view.write_back(put(&device, Expect::Any)?),
    ]))
}

pub fn delete(call: &Call<'_>, input: DeviceInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = find(&view, &call.caller.account_id, &input.serial_number)?;
    if entry.device.user_name.is_some() {
        return Err(delete_conflict(
            "MFA VirtualDevice in use. Must deactivate first.",
        ));
    }
    // Insists on the device read: one that an EnableMFADevice assigned meanwhile is in
    // use, and the call runs again to say so.
    let id = records::mfa_device_id(&entry.device.serial_number());
    Ok(Outcome::changed(vec![Mutation::Delete {
        kind: records::IAM_MFA_DEVICE.to_owned(),
        expect: view.expect_current(records::IAM_MFA_DEVICE, &id),
        id,
    }]))
}

/// The MFA devices of a user (the caller when it names none; none for other
/// principals, which have no IAM user).
pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let own = match call.caller.principal_type {
        PrincipalType::IamUser => call.caller.user_name.as_deref(),
        _ => None,
    };
    let mut devices: Vec<&MfaDevice> = match input.user_name.as_deref().or(own) {
        Some(name) => {
            let user = super::users::find(&view, account, name)?;
            devices_of_user(&view, account, &user.user_name).collect()
        }
        None => Vec::new(),
    };
    devices.sort_by_cached_key(|d| records::mfa_device_id(&d.serial_number()));
    let page = input.paging.page(
        &devices,
        |d| records::mfa_device_id(&d.serial_number()),
        "MFADevices",
        |d| device_output(d),
    )?;
    Ok(Outcome::output(page))
}

pub fn list_virtual(call: &Call<'_>, input: ListVirtualInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let status = input.assignment_status.unwrap_or(AssignmentStatus::Any);
    let mut devices: Vec<&MfaDevice> = devices_of_account(&view, &call.caller.account_id)
        .filter(|d| match status {
            AssignmentStatus::Any => true,
            AssignmentStatus::Assigned => d.user_name.is_some(),
            AssignmentStatus::Unassigned => d.user_name.is_none(),
        })
        .collect();
    devices.sort_by_cached_key(|d| records::mfa_device_id(&d.serial_number()));
    let page = input.paging.page(
        &devices,
        |d| records::mfa_device_id(&d.serial_number()),
        "VirtualMFADevices",
        |d| {
            let mut out = json!({ "SerialNumber": d.serial_number() });
            if let (Some(name), Some(enabled)) = (&d.user_name, d.enabled) {
                if let Some(user) = view.user(&d.account_id, name) {
                    out["User"] = user_output(user);
                }
                out["EnableDate"] = json!(enabled);
            }
            if !d.tags.is_empty() {
                out["Tags"] = json!(d.tags);
            }
            out
        },
    )?;
    Ok(Outcome::output(page))
}

/// An MFA device enabled for a user (the named one, when the input names one).
pub fn get(call: &Call<'_>, input: DeviceInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = find(&view, &call.caller.account_id, &input.serial_number)?;
    let device = &entry.device;
    let matches = match (&input.user_name, &device.user_name) {
        (_, None) => false,
        (None, Some(_)) => true,
        (Some(named), Some(_)) => assigned_to(device, named),
    };
    if !matches {
        return Err(invalid_for_user());
    }
    Ok(Outcome::output(device_output(device)))
}

pub fn tag(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut device = find(&view, &call.caller.account_id, &input.serial_number)?
        .device
        .clone();
    super::tags::merge(&mut device.tags, input.tags)?;
    Ok(Outcome::changed(vec![
        view.write_back(put(&device, Expect::Any)?),
    ]))
}

pub fn untag(call: &Call<'_>, input: UntagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut device = find(&view, &call.caller.account_id, &input.serial_number)?
        .device
        .clone();
    super::tags::remove(&mut device.tags, &input.tag_keys);
    Ok(Outcome::changed(vec![
        view.write_back(put(&device, Expect::Any)?),
    ]))
}

pub fn list_tags(call: &Call<'_>, input: ListTagsInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = find(&view, &call.caller.account_id, &input.serial_number)?;
    let page = input
        .paging
        .page(&entry.device.tags, |t| t.key.clone(), "Tags", |t| json!(t))?;
    Ok(Outcome::output(page))
}

/// Checks the MFA a call presents (`SerialNumber` and `TokenCode` of GetSessionToken
/// or AssumeRole) against the calling user's enabled devices. `Ok(None)` when the call
/// presents none; otherwise the mutation that advances the device's replay guard,
/// which must be committed with the call for the code to count as used.
pub(crate) fn verify_token(
    view: &View,
    caller: &Caller,
    serial_number: Option<&str>,
    token_code: Option<&str>,
    now: i64,
) -> Result<Option<Mutation>, ServiceError> {
    if serial_number.is_none() && token_code.is_none() {
        return Ok(None);
    }
    let unknown = || ServiceError::AccessDenied(UNKNOWN_DEVICE.to_owned());
    let user_name = caller
        .user_name
        .as_deref()
        .filter(|_| caller.principal_type == PrincipalType::IamUser)
        .ok_or_else(unknown)?;
    let entry = serial_number
        .and_then(|serial| view.mfa_devices.get(&records::mfa_device_id(serial)))
        .filter(|e| e.device.account_id == caller.account_id)
        .filter(|e| assigned_to(&e.device, user_name))
        .ok_or_else(unknown)?;
    let device = &entry.device;
    let step = token_code
        .and_then(|code| totp::accept(&entry.seed, code, now, device.drift, device.last_step))
        .ok_or_else(|| ServiceError::AccessDenied(INVALID_CODE.to_owned()))?;
    let mut used = device.clone();
    used.last_step = step;
    Ok(Some(view.write_back(put(&used, Expect::Any)?)))
}

/// The seed bytes a stored base32 seed spells (the view opens seeds with it).
pub(crate) fn seed_bytes(base32: &str) -> Option<Zeroizing<Vec<u8>>> {
    totp::from_base32(base32)
}

/// Whether `user_name` has an MFA device enabled (a user with one cannot be deleted).
pub(super) fn has_devices(view: &View, account: &str, user_name: &str) -> bool {
    devices_of_user(view, account, user_name).next().is_some()
}

/// The mutations that keep a renamed user's devices assigned to it.
pub(super) fn follow_rename(
    view: &View,
    account: &str,
    old: &str,
    new: &str,
) -> Result<Vec<Mutation>, ServiceError> {
    devices_of_user(view, account, old)
        .map(|d| {
            let mut device = d.clone();
            device.user_name = Some(new.to_owned());
            Ok(view.write_back(put(&device, Expect::Any)?))
        })
        .collect()
}

/// The device with this serial number in `account`, or NoSuchEntity.
fn find<'v>(view: &'v View, account: &str, serial: &str) -> Result<&'v MfaEntry, ServiceError> {
    view.mfa_devices
        .get(&records::mfa_device_id(serial))
        .filter(|e| e.device.account_id == account)
        .ok_or_else(|| {
            no_such_entity(format!(
                "VirtualMFADevice with serial number {serial} does not exist."
            ))
        })
}

fn devices_of_account<'v>(view: &'v View, account: &'v str) -> impl Iterator<Item = &'v MfaDevice> {
    view.mfa_devices
        .values()
        .map(|e| &e.device)
        .filter(move |d| d.account_id == account)
}

fn devices_of_user<'v>(
    view: &'v View,
    account: &'v str,
    user_name: &'v str,
) -> impl Iterator<Item = &'v MfaDevice> {
    devices_of_account(view, account).filter(move |d| assigned_to(d, user_name))
}

/// Whether `device` is enabled for the user `user_name` (names compare
/// case-insensitively, as IAM's do).
fn assigned_to(device: &MfaDevice, user_name: &str) -> bool {
    device
        .user_name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case(user_name))
}

/// The `MFADevice` output shape of an enabled device.
fn device_output(device: &MfaDevice) -> Value {
    json!({
        "UserName": device.user_name,
        "SerialNumber": device.serial_number(),
        "EnableDate": device.enabled,
    })
}

fn put(device: &MfaDevice, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: records::IAM_MFA_DEVICE.to_owned(),
        id: records::mfa_device_id(&device.serial_number()),
        value: to_canonical(device)?,
        expect,
    })
}

/// A device's name must leave its serial number (its ARN) within the 256 characters
/// every operation that names a device accepts (AWS documents 226 for the name: 256
/// less the ARN's prefix).
fn check_name(name: &str, serial: &str) -> Result<(), ServiceError> {
    let length = name.chars().count();
    if length > NAME_MAX {
        return Err(ServiceError::Validation(format!(
            "1 validation error detected: Value '{name}' at 'virtualMFADeviceName' failed to satisfy constraint: Member must have length less than or equal to {NAME_MAX}"
        )));
    }
    if serial.chars().count() > SERIAL_MAX {
        return Err(ServiceError::Validation(format!(
            "The serial number {serial} would be longer than {SERIAL_MAX} characters: use a shorter path or name."
        )));
    }
    Ok(())
}

fn invalid_authentication_code() -> ServiceError {
    ServiceError::modeled(
        "InvalidAuthenticationCode",
        "Authentication code for device is not valid.",
    )
}

fn invalid_for_user() -> ServiceError {
    no_such_entity("MFA Device invalid for user.".to_owned())
}
