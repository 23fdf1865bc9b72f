//! Key policies: every key has exactly one, named `default` (GetKeyPolicy,
//! PutKeyPolicy, ListKeyPolicies). The view compiles it when the key record changes;
//! `crate::authorize` evaluates it as the key's resource policy
//! (`ResourcePolicyKind::Key`: it must allow even within the account, and naming the
//! account root delegates to IAM policies).

use rampart_policy::PolicyType;
use serde::Deserialize;
use serde_json::json;

use super::{check_not_pending_deletion, error, not_found, put_key, resolve};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;

/// Refuses a key policy document that does not parse as a resource policy.
pub fn check_document(document: &str) -> Result<(), ServiceError> {
    rampart_policy::parse(document, PolicyType::Resource)
        .map(drop)
        .map_err(|e| error("MalformedPolicyDocumentException", e.message().to_owned()))
}

/// KMS's policy lockout safety check: a new key policy must still let the caller
/// call PutKeyPolicy on the key (unless the caller bypasses the check).
pub fn check_no_lockout(
    view: &crate::view::View,
    call: &Call<'_>,
    key_arn: &str,
    document: &str,
) -> Result<(), ServiceError> {
    let policy = rampart_policy::CompiledPolicy::parse(document, PolicyType::Resource, "default")
        .map_err(|e| error("MalformedPolicyDocumentException", e.message().to_owned()))?;
    let permission = crate::authorize::Permission {
        action: "kms:PutKeyPolicy".to_owned(),
        resource: key_arn.to_owned(),
    };
    let set = std::sync::Arc::new(rampart_policy::PolicySet::single(std::sync::Arc::new(
        policy,
    )));
    if crate::authorize::allowed_under_key_policy(view, call, &permission, set) {
        Ok(())
    } else {
        Err(error(
            "MalformedPolicyDocumentException",
            "The new key policy will not allow you to update the key policy in the future.",
        ))
    }
}

fn check_name(name: Option<&str>) -> Result<(), ServiceError> {
    match name {
        None | Some("default") => Ok(()),
        Some(_) => Err(not_found("No such policy exists")),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetInput {
    key_id: String,
    policy_name: Option<String>,
}

pub fn get(call: &Call<'_>, input: GetInput) -> Result<Outcome, ServiceError> {
    check_name(input.policy_name.as_deref())?;
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    Ok(Outcome::output(json!({
        "Policy": entry.key.policy,
        "PolicyName": "default",
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutInput {
    key_id: String,
    policy_name: Option<String>,
    policy: String,
    #[serde(default)]
    bypass_policy_lockout_safety_check: bool,
}

pub fn put(call: &Call<'_>, input: PutInput) -> Result<Outcome, ServiceError> {
    check_name(input.policy_name.as_deref())?;
    check_document(&input.policy)?;
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    check_not_pending_deletion(entry)?;
    if !input.bypass_policy_lockout_safety_check {
        check_no_lockout(&view, call, entry.arn(), &input.policy)?;
    }
    let mut key = entry.key.clone();
    key.policy = input.policy;
    Ok(Outcome::changed(vec![
        view.write_back(put_key(&key, rampart_store::Expect::Any)?),
    ]))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    key_id: String,
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    resolve(&view, call, &input.key_id)?;
    Ok(Outcome::output(json!({
        "PolicyNames": ["default"],
        "Truncated": false,
    })))
}
