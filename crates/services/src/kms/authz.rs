//! What a KMS operation asks the policy engine for: the action (`kms:Operation`, with
//! ReEncrypt asking kms:ReEncryptFrom here and kms:ReEncryptTo in its handler), the
//! key ARN as the resource (from the KeyId, alias, or the key a ciphertext names), and
//! KMS's condition keys. `crate::authorize` evaluates the key's compiled key policy
//! from the view as the resource policy.

use std::collections::BTreeMap;

use rampart_policy::{Context, catalog};
use serde_json::Value;

use super::lookup;
use crate::authorize::Permission;
use crate::call::Call;
use crate::view::View;
use crate::view::kms::{KeyEntry, key_arn};

/// The permission a KMS operation needs (`None`: the handler decides, as RetireGrant).
pub fn required(
    view: &View,
    call: &Call<'_>,
    operation: &str,
    input: &Value,
) -> Option<Permission> {
    let action = match operation {
        "ReEncrypt" => "kms:ReEncryptFrom".to_owned(),
        "RetireGrant" => return None,
        op => format!("kms:{op}"),
    };
    let on_key = catalog::catalog()
        .action(&action)
        .is_some_and(|a| a.resource_types.iter().any(|r| r.required));
    let resource = if on_key {
        key_resource(view, call, operation, input)
    } else {
        "*".to_owned()
    };
    Some(Permission { action, resource })
}

/// The member of the input that names the key an operation acts on.
fn key_reference(view: &View, call: &Call<'_>, operation: &str, input: &Value) -> Option<String> {
    let text = |m: &str| input.get(m).and_then(Value::as_str).map(str::to_owned);
    match operation {
        "CreateAlias" | "UpdateAlias" => text("TargetKeyId"),
        "DeleteAlias" => {
            let name = text("AliasName")?;
            view.kms
                .alias(&call.caller.account_id, call.region, &name)
                .map(|a| a.target_key_id.clone())
        }
        "Decrypt" => text("KeyId")
            .or_else(|| super::crypto::ciphertext_key_id(input.get("CiphertextBlob")?.as_str()?)),
        "ReEncrypt" => text("SourceKeyId")
            .or_else(|| super::crypto::ciphertext_key_id(input.get("CiphertextBlob")?.as_str()?)),
        _ => text("KeyId"),
    }
}

fn key_resource(view: &View, call: &Call<'_>, operation: &str, input: &Value) -> String {
    let Some(reference) = key_reference(view, call, operation, input) else {
        return "*".to_owned();
    };
    let account = &call.caller.account_id;
    // A ciphertext names its key by id, whatever account holds it.
    let found =
        lookup(view, account, call.region, &reference, call.now.timestamp()).or_else(|| {
            matches!(operation, "Decrypt" | "ReEncrypt")
                .then(|| view.kms.keys.get(&reference))
                .flatten()
        });
    match found {
        Some(entry) => entry.arn().to_owned(),
        None if reference.starts_with("arn:") => reference,
        None if reference.starts_with("alias/") => {
            format!("arn:aws:kms:{}:{account}:{reference}", call.region)
        }
        None => key_arn(call.region, account, &reference),
    }
}

/// The key whose key policy governs `permission`, if it names one.
pub fn key_of<'v>(view: &'v View, permission: &Permission) -> Option<&'v KeyEntry> {
    if !permission.action.starts_with("kms:") {
        return None;
    }
    view.kms.key_by_arn(&permission.resource)
}

/// The encryption context an operation presents (for condition keys and grant
/// constraints).
pub fn encryption_context(operation: &str, input: &Value) -> Option<BTreeMap<String, String>> {
    let member = match operation {
        "ReEncryptFrom" => "SourceEncryptionContext",
        _ => "EncryptionContext",
    };
    let context = input.get(member).and_then(Value::as_object)?;
    Some(
        context
            .iter()
            .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
            .collect(),
    )
}

/// Adds KMS's condition keys for this call.
pub fn add_keys(
    view: &View,
    call: &Call<'_>,
    permission: &Permission,
    input: &Value,
    context: &mut Context,
) {
    let text = |m: &str| input.get(m).and_then(Value::as_str);
    context.insert("kms:CallerAccount", call.caller.account_id.as_str());
    let operation = permission.action.strip_prefix("kms:").unwrap_or_default();
    let ec = match operation {
        "CreateGrant" => input.get("Constraints").and_then(|c| {
            c.get("EncryptionContextEquals")
                .or_else(|| c.get("EncryptionContextSubset"))
                .and_then(Value::as_object)
                .map(|o| {
                    o.iter()
                        .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_owned())))
                        .collect::<BTreeMap<_, _>>()
                })
        }),
        _ => encryption_context(operation, input),
    };
    if let Some(ec) = ec {
        for (k, v) in &ec {
            context.insert(&format!("kms:EncryptionContext:{k}"), v.as_str());
        }
        context.insert(
            "kms:EncryptionContextKeys",
            ec.keys().cloned().collect::<Vec<String>>(),
        );
    }
    match key_of(view, permission) {
        Some(entry) => {
            context.insert("kms:KeySpec", entry.key.key_spec.as_str());
            context.insert("kms:CustomerMasterKeySpec", entry.key.key_spec.as_str());
            context.insert("kms:KeyUsage", entry.key.key_usage.as_str());
            context.insert("kms:KeyOrigin", entry.key.origin.as_str());
        }
        None if operation == "CreateKey" => {
            let spec = text("KeySpec")
                .or(text("CustomerMasterKeySpec"))
                .unwrap_or("SYMMETRIC_DEFAULT");
            context.insert("kms:KeySpec", spec);
            context.insert("kms:CustomerMasterKeySpec", spec);
            context.insert(
                "kms:KeyUsage",
                text("KeyUsage").unwrap_or("ENCRYPT_DECRYPT"),
            );
            context.insert("kms:KeyOrigin", text("Origin").unwrap_or("AWS_KMS"));
        }
        None => {}
    }
    for (key, member) in [
        ("kms:EncryptionAlgorithm", "EncryptionAlgorithm"),
        ("kms:SigningAlgorithm", "SigningAlgorithm"),
        ("kms:MacAlgorithm", "MacAlgorithm"),
        ("kms:KeyAgreementAlgorithm", "KeyAgreementAlgorithm"),
        ("kms:MessageType", "MessageType"),
        ("kms:GranteePrincipal", "GranteePrincipal"),
        ("kms:RetiringPrincipal", "RetiringPrincipal"),
        ("kms:DataKeyPairSpec", "KeyPairSpec"),
        ("kms:WrappingAlgorithm", "WrappingAlgorithm"),
        ("kms:WrappingKeySpec", "WrappingKeySpec"),
        ("kms:ExpirationModel", "ExpirationModel"),
    ] {
        if let Some(v) = text(member) {
            context.insert(key, v);
        }
    }
    if let Some(ops) = input.get("Operations").and_then(Value::as_array) {
        let ops: Vec<String> = ops
            .iter()
            .filter_map(|o| o.as_str().map(str::to_owned))
            .collect();
        context.insert("kms:GrantOperations", ops);
    }
    if let Some(b) = input
        .get("BypassPolicyLockoutSafetyCheck")
        .and_then(Value::as_bool)
    {
        context.insert("kms:BypassPolicyLockoutSafetyCheck", b);
    }
    for (key, member) in [
        (
            "kms:ScheduleKeyDeletionPendingWindowInDays",
            "PendingWindowInDays",
        ),
        ("kms:RotationPeriodInDays", "RotationPeriodInDays"),
    ] {
        if let Some(n) = input.get(member).and_then(Value::as_i64) {
            context.insert(key, n.to_string());
        }
    }
    let reference = text("KeyId").or(text("SourceKeyId"));
    if let Some(alias) = reference.and_then(|r| {
        r.starts_with("alias/")
            .then_some(r)
            .or_else(|| r.split_once(":alias/").map(|(_, n)| n))
    }) {
        let alias = if alias.starts_with("alias/") {
            alias.to_owned()
        } else {
            format!("alias/{alias}")
        };
        context.insert("kms:RequestAlias", alias);
    }
    if operation == "ReEncryptFrom" || operation == "ReEncryptTo" {
        let same = text("SourceKeyId").is_some_and(|s| Some(s) == text("DestinationKeyId"));
        context.insert("kms:ReEncryptOnSameKey", same);
    }
}
