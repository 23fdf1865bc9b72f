//! Aliases: `alias/NAME`, unique per account and region, each naming one key. Alias
//! names and alias ARNs are accepted wherever a KeyId is (`super::lookup`).

use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{check_not_pending_deletion, error, not_found, page, paged, resolve};
use crate::authorize::{self, Permission};
use crate::call::{Call, Outcome, to_canonical};
use crate::error::ServiceError;
use crate::records::{self, KmsAlias};
use crate::view::kms::KeyEntry;

/// AWS's quota of aliases per key.
const MAX_ALIASES_PER_KEY: usize = 50;

fn alias_arn(call: &Call<'_>, name: &str) -> String {
    format!(
        "arn:aws:kms:{}:{}:{name}",
        call.region, call.caller.account_id
    )
}

fn check_name(name: &str) -> Result<(), ServiceError> {
    let Some(rest) = name.strip_prefix("alias/") else {
        return Err(error(
            "InvalidAliasNameException",
            "Alias must start with the prefix \"alias/\". Please see https://docs.aws.amazon.com/kms/latest/developerguide/kms-alias.html",
        ));
    };
    if rest.is_empty()
        || !rest
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "/_-".contains(c))
    {
        return Err(error(
            "InvalidAliasNameException",
            format!("Alias {name} contains invalid characters."),
        ));
    }
    if name.starts_with("alias/aws/") {
        return Err(error(
            "InvalidAliasNameException",
            "Cannot create alias with prefix 'alias/aws/'",
        ));
    }
    Ok(())
}

/// The key an alias may target: named by key id or key ARN, never by another alias.
fn target<'v>(
    view: &'v crate::view::View,
    call: &Call<'_>,
    key_ref: &str,
) -> Result<&'v KeyEntry, ServiceError> {
    if key_ref.starts_with("alias/") || key_ref.contains(":alias/") {
        return Err(ServiceError::Validation(
            "Aliases must refer to keys. Not aliases".to_owned(),
        ));
    }
    let entry = resolve(view, call, key_ref)?;
    check_not_pending_deletion(entry)?;
    Ok(entry)
}

/// The caller also needs the action on the alias itself (an IAM policy allows it).
fn check_alias_permission(
    view: &crate::view::View,
    call: &Call<'_>,
    action: &str,
    name: &str,
    input: &Value,
) -> Result<(), ServiceError> {
    authorize::check(
        view,
        call,
        "kms",
        &Permission {
            action: action.to_owned(),
            resource: alias_arn(call, name),
        },
        input,
    )
}

fn put(alias: &KmsAlias, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: records::KMS_ALIAS.to_owned(),
        id: records::kms_alias_id(&alias.account_id, &alias.region, &alias.alias_name),
        value: to_canonical(alias)?,
        expect,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasInput {
    alias_name: String,
    target_key_id: String,
}

pub fn create(call: &Call<'_>, input: AliasInput) -> Result<Outcome, ServiceError> {
    check_name(&input.alias_name)?;
    let view = call.plane.view();
    let entry = target(&view, call, &input.target_key_id)?;
    let account = &call.caller.account_id;
    if view
        .kms
        .alias(account, call.region, &input.alias_name)
        .is_some()
    {
        return Err(error(
            "AlreadyExistsException",
            format!(
                "An alias with the name {} already exists",
                alias_arn(call, &input.alias_name)
            ),
        ));
    }
    let count = view
        .kms
        .aliases
        .values()
        .filter(|a| a.target_key_id == entry.key.key_id)
        .count();
    if count >= MAX_ALIASES_PER_KEY {
        return Err(error(
            "LimitExceededException",
            format!(
                "The key {} has reached the limit of {MAX_ALIASES_PER_KEY} aliases.",
                entry.arn()
            ),
        ));
    }
    check_alias_permission(
        &view,
        call,
        "kms:CreateAlias",
        &input.alias_name,
        &json!({}),
    )?;
    let now = call.now.timestamp();
    let alias = KmsAlias {
        account_id: account.clone(),
        region: call.region.to_owned(),
        alias_name: input.alias_name,
        target_key_id: entry.key.key_id.clone(),
        created: now,
        updated: now,
    };
    Ok(Outcome::changed(vec![put(&alias, Expect::Absent)?]))
}

pub fn update(call: &Call<'_>, input: AliasInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let mut alias = view
        .kms
        .alias(account, call.region, &input.alias_name)
        .cloned()
        .ok_or_else(|| {
            not_found(format!(
                "Alias {} is not found.",
                alias_arn(call, &input.alias_name)
            ))
        })?;
    let entry = target(&view, call, &input.target_key_id)?;
    if let Some(current) = view.kms.keys.get(&alias.target_key_id) {
        let kind =
            |k: &crate::records::KmsKey| (k.key_usage.clone(), k.key_spec == "SYMMETRIC_DEFAULT");
        if kind(&current.key) != kind(&entry.key) {
            return Err(ServiceError::Validation(format!(
                "{} is not the same key type and key usage as the key the alias currently targets.",
                entry.arn()
            )));
        }
    }
    check_alias_permission(
        &view,
        call,
        "kms:UpdateAlias",
        &input.alias_name,
        &json!({}),
    )?;
    alias.target_key_id = entry.key.key_id.clone();
    alias.updated = call.now.timestamp();
    // Insists on the alias read: an update racing a DeleteAlias must not bring it back.
    Ok(Outcome::changed(vec![
        view.write_back(put(&alias, Expect::Any)?),
    ]))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    alias_name: String,
}

pub fn delete(call: &Call<'_>, input: DeleteInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let alias = view
        .kms
        .alias(account, call.region, &input.alias_name)
        .ok_or_else(|| {
            not_found(format!(
                "Alias {} is not found.",
                alias_arn(call, &input.alias_name)
            ))
        })?;
    check_alias_permission(
        &view,
        call,
        "kms:DeleteAlias",
        &input.alias_name,
        &json!({}),
    )?;
    let id = records::kms_alias_id(account, call.region, &alias.alias_name);
    Ok(Outcome::changed(vec![Mutation::Delete {
        kind: records::KMS_ALIAS.to_owned(),
        expect: view.expect_current(records::KMS_ALIAS, &id),
        id,
    }]))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    key_id: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let key_id = match &input.key_id {
        Some(k) => Some(resolve(&view, call, k)?.key.key_id.clone()),
        None => None,
    };
    let mut aliases: Vec<&KmsAlias> = view
        .kms
        .aliases
        .values()
        .filter(|a| a.account_id == call.caller.account_id && a.region == call.region)
        .filter(|a| key_id.as_ref().is_none_or(|k| *k == a.target_key_id))
        .collect();
    aliases.sort_by(|a, b| a.alias_name.cmp(&b.alias_name));
    let (aliases, next) = page(aliases, input.limit, input.marker.as_deref())?;
    let aliases: Vec<Value> = aliases
        .iter()
        .map(|a| {
            json!({
                "AliasName": a.alias_name,
                "AliasArn": alias_arn(call, &a.alias_name),
                "TargetKeyId": a.target_key_id,
                "CreationDate": a.created,
                "LastUpdatedDate": a.updated,
            })
        })
        .collect();
    Ok(Outcome::output(paged(json!({ "Aliases": aliases }), next)))
}
