//! Grants: permissions on one key for one grantee principal, for listed operations,
//! optionally constrained by the encryption context. rampart's grants take effect at
//! once, so grant tokens are accepted and need not be presented.
//!
//! [`allows`] is what authorization asks when the policies alone do not allow a call.

use std::collections::BTreeMap;

use rampart_store::{Expect, Mutation};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::{check_not_pending_deletion, error, material, page, paged, resolve};
use crate::authorize::{self, Permission};
use crate::call::{Call, Outcome, to_canonical};
use crate::caller::Caller;
use crate::error::ServiceError;
use crate::ids;
use crate::records::{self, KmsGrant};
use crate::view::View;
use crate::view::kms::key_arn;

#[derive(Deserialize, Serialize, Default)]
#[serde(rename_all = "PascalCase")]
pub struct Constraints {
    encryption_context_subset: Option<BTreeMap<String, String>>,
    encryption_context_equals: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    key_id: String,
    grantee_principal: String,
    retiring_principal: Option<String>,
    operations: Vec<String>,
    constraints: Option<Constraints>,
    name: Option<String>,
    dry_run: Option<bool>,
}

fn check_principal(principal: &str) -> Result<(), ServiceError> {
    if principal.starts_with("arn:aws:iam::") || principal.starts_with("arn:aws:sts::") {
        return Ok(());
    }
    Err(ServiceError::Validation(format!(
        "Invalid principal: {principal}"
    )))
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    check_principal(&input.grantee_principal)?;
    if let Some(p) = &input.retiring_principal {
        check_principal(p)?;
    }
    if input.operations.is_empty() {
        return Err(ServiceError::Validation(
            "Operations must not be empty.".to_owned(),
        ));
    }
    let constraints = input.constraints.unwrap_or_default();
    if constraints.encryption_context_equals.is_some()
        && constraints.encryption_context_subset.is_some()
    {
        return Err(ServiceError::Validation(
            "Only one of EncryptionContextEquals and EncryptionContextSubset may be specified."
                .to_owned(),
        ));
    }
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    check_not_pending_deletion(entry)?;
    if entry.key.state == "Disabled" {
        return Err(error(
            "DisabledException",
            format!("{} is disabled.", entry.arn()),
        ));
    }
    if input.dry_run == Some(true) {
        return Err(error(
            "DryRunOperationException",
            "The request would have succeeded, but the DryRun option is set.",
        ));
    }
    let grant_id = hex::encode(material::random_bytes(32).as_slice());
    let token = format!(
        "{grant_id}.{}",
        hex::encode(material::random_bytes(32).as_slice())
    );
    let grant = KmsGrant {
        grant_id: grant_id.clone(),
        key_id: entry.key.key_id.clone(),
        account_id: entry.key.account_id.clone(),
        name: input.name,
        grantee_principal: input.grantee_principal,
        retiring_principal: input.retiring_principal,
        issuing_account: format!("arn:aws:iam::{}:root", call.caller.account_id),
        operations: input.operations,
        encryption_context_subset: constraints.encryption_context_subset,
        encryption_context_equals: constraints.encryption_context_equals,
        token_sha256: ids::sha256_hex(token.as_bytes()),
        created: call.now.timestamp(),
    };
    Ok(Outcome {
        output: json!({ "GrantToken": token, "GrantId": grant_id }),
        mutations: vec![Mutation::Put {
            kind: records::KMS_GRANT.to_owned(),
            id: grant_id,
            value: to_canonical(&grant)?,
            expect: Expect::Absent,
        }],
    })
}

fn entry_of(view: &View, grant: &KmsGrant) -> Value {
    let key_arn = view
        .kms
        .keys
        .get(&grant.key_id)
        .map(|e| e.arn().to_owned())
        .unwrap_or_else(|| grant.key_id.clone());
    let mut out = json!({
        "KeyId": key_arn,
        "GrantId": grant.grant_id,
        "CreationDate": grant.created,
        "GranteePrincipal": grant.grantee_principal,
        "IssuingAccount": grant.issuing_account,
        "Operations": grant.operations,
    });
    if let Some(name) = &grant.name {
        out["Name"] = json!(name);
    }
    if let Some(p) = &grant.retiring_principal {
        out["RetiringPrincipal"] = json!(p);
    }
    if let Some(c) = &grant.encryption_context_subset {
        out["Constraints"] = json!({ "EncryptionContextSubset": c });
    }
    if let Some(c) = &grant.encryption_context_equals {
        out["Constraints"] = json!({ "EncryptionContextEquals": c });
    }
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    key_id: String,
    grant_id: Option<String>,
    grantee_principal: Option<String>,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    let mut grants: Vec<&KmsGrant> = view
        .kms
        .grants
        .values()
        .filter(|g| g.key_id == entry.key.key_id)
        .filter(|g| input.grant_id.as_ref().is_none_or(|id| *id == g.grant_id))
        .filter(|g| {
            input
                .grantee_principal
                .as_ref()
                .is_none_or(|p| *p == g.grantee_principal)
        })
        .collect();
    grants.sort_by(|a, b| (a.created, &a.grant_id).cmp(&(b.created, &b.grant_id)));
    let (grants, next) = page(grants, input.limit, input.marker.as_deref())?;
    let grants: Vec<Value> = grants.iter().map(|g| entry_of(&view, g)).collect();
    Ok(Outcome::output(paged(json!({ "Grants": grants }), next)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetirableInput {
    retiring_principal: String,
    limit: Option<i64>,
    marker: Option<String>,
}

pub fn list_retirable(call: &Call<'_>, input: RetirableInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut grants: Vec<&KmsGrant> = view
        .kms
        .grants
        .values()
        .filter(|g| g.retiring_principal.as_deref() == Some(&input.retiring_principal))
        .collect();
    grants.sort_by(|a, b| (a.created, &a.grant_id).cmp(&(b.created, &b.grant_id)));
    let (grants, next) = page(grants, input.limit, input.marker.as_deref())?;
    let grants: Vec<Value> = grants.iter().map(|g| entry_of(&view, g)).collect();
    Ok(Outcome::output(paged(json!({ "Grants": grants }), next)))
}

/// Deletes a grant read from `view`, insisting that it is still there: of two calls that
/// retire or revoke one grant at once, the second runs again and finds it gone.
fn delete(view: &View, grant_id: &str) -> Mutation {
    Mutation::Delete {
        kind: records::KMS_GRANT.to_owned(),
        id: grant_id.to_owned(),
        expect: view.expect_current(records::KMS_GRANT, grant_id),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetireInput {
    grant_token: Option<String>,
    key_id: Option<String>,
    grant_id: Option<String>,
}

/// RetireGrant: the retiring principal, a grantee allowed RetireGrant, or anyone the
/// policies allow kms:RetireGrant on the key may retire a grant.
pub fn retire(call: &Call<'_>, input: RetireInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let grant = match (&input.grant_token, &input.key_id, &input.grant_id) {
        (Some(token), _, _) => {
            let hash = ids::sha256_hex(token.as_bytes());
            view.kms
                .grants
                .values()
                .find(|g| g.token_sha256 == hash)
                .ok_or_else(|| error("InvalidGrantTokenException", "Invalid grant token"))?
        }
        (None, Some(key_id), Some(grant_id)) => {
            let entry = resolve(&view, call, key_id)?;
            view.kms
                .grants
                .get(grant_id)
                .filter(|g| g.key_id == entry.key.key_id)
                .ok_or_else(|| error("InvalidGrantIdException", "Grant id not found"))?
        }
        _ => {
            return Err(ServiceError::Validation(
                "Either GrantToken or both KeyId and GrantId must be specified.".to_owned(),
            ));
        }
    };
    let caller = call.caller;
    let may = grant
        .retiring_principal
        .as_deref()
        .is_some_and(|p| is_caller(caller, p))
        || (is_caller(caller, &grant.grantee_principal)
            && grant.operations.iter().any(|o| o == "RetireGrant"));
    if !may {
        let resource = view
            .kms
            .keys
            .get(&grant.key_id)
            .map(|e| e.arn().to_owned())
            .unwrap_or_else(|| key_arn(call.region, &grant.account_id, &grant.key_id));
        authorize::check(
            &view,
            call,
            "kms",
            &Permission {
                action: "kms:RetireGrant".to_owned(),
                resource,
            },
            &json!({}),
        )?;
    }
    Ok(Outcome::changed(vec![delete(&view, &grant.grant_id)]))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RevokeInput {
    key_id: String,
    grant_id: String,
}

pub fn revoke(call: &Call<'_>, input: RevokeInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    let grant = view
        .kms
        .grants
        .get(&input.grant_id)
        .filter(|g| g.key_id == entry.key.key_id)
        .ok_or_else(|| error("InvalidGrantIdException", "Grant id not found"))?;
    Ok(Outcome::changed(vec![delete(&view, &grant.grant_id)]))
}

/// Whether `principal` (as a grant names it) is the caller: its ARN, or for a role
/// session the role's ARN.
fn is_caller(caller: &Caller, principal: &str) -> bool {
    principal == caller.arn
        || caller
            .role
            .as_ref()
            .is_some_and(|(_, role_arn)| role_arn == principal)
}

/// Whether a grant on the key `permission` names allows the caller this call.
pub fn allows(view: &View, caller: &Caller, permission: &Permission, input: &Value) -> bool {
    let Some(operation) = permission.action.strip_prefix("kms:") else {
        return false;
    };
    let Some(entry) = view.kms.key_by_arn(&permission.resource) else {
        return false;
    };
    let context = super::authz::encryption_context(operation, input);
    view.kms.grants.values().any(|g| {
        g.key_id == entry.key.key_id
            && g.operations.iter().any(|o| o == operation)
            && is_caller(caller, &g.grantee_principal)
            && g.encryption_context_equals
                .as_ref()
                .is_none_or(|eq| context.as_ref() == Some(eq))
            && g.encryption_context_subset.as_ref().is_none_or(|sub| {
                context
                    .as_ref()
                    .is_some_and(|c| sub.iter().all(|(k, v)| c.get(k) == Some(v)))
            })
    })
}
