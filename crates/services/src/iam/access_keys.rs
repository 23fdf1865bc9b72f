//! IAM access keys: at most two per user, Active or Inactive, the secret returned
//! once, at creation, and stored only sealed under the master key.

use crate::error::ServiceError;
use rampart_store::{Expect, Mutation};
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

use super::{no_such_entity, target_user_name};
use crate::call::{Call, Outcome, to_canonical};
use crate::control_plane::ControlPlane;
use crate::ids::{self, IdPrefix};
use crate::records::{self, AccessKey, KeyStatus};
use crate::view::View;

/// AWS's quota of access keys per user.
pub(crate) const KEYS_PER_USER: usize = 2;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    user_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    user_name: Option<String>,
    access_key_id: String,
    status: KeyStatus,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    user_name: Option<String>,
    access_key_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    user_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct LastUsedInput {
    access_key_id: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct CreatedKey<'a> {
    user_name: &'a str,
    access_key_id: &'a str,
    status: KeyStatus,
    secret_access_key: &'a str,
    create_date: i64,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct KeyMetadata<'a> {
    user_name: &'a str,
    access_key_id: &'a str,
    status: KeyStatus,
    create_date: i64,
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let name = target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let user = super::users::find(&view, &call.caller.account_id, name)?;
    if keys_of(&view, &user.account_id, &user.user_name).count() >= KEYS_PER_USER {
        return Err(ServiceError::modeled(
            "LimitExceeded",
            format!("Cannot exceed quota for AccessKeysPerUser: {KEYS_PER_USER}"),
        ));
    }
    let (key, secret) = issue(
        call.plane,
        &user.account_id,
        &user.user_name,
        Some(&user.user_id),
        call.now.timestamp(),
    );
    let output = to_canonical(&serde_json::json!({
        "AccessKey": CreatedKey {
            user_name: &key.user_name,
            access_key_id: &key.access_key_id,
            status: key.status,
            secret_access_key: &secret,
            create_date: key.created,
        }
    }))?;
    Ok(Outcome {
        output,
        mutations: vec![Mutation::Put {
            kind: records::ACCESS_KEY.to_owned(),
            id: key.access_key_id.clone(),
            value: to_canonical(&key)?,
            expect: Expect::Absent,
        }],
    })
}

pub fn update(call: &Call<'_>, input: UpdateInput) -> Result<Outcome, ServiceError> {
    let (mut key, expect) = owned_key(call, input.user_name.as_deref(), &input.access_key_id)?;
    key.status = input.status;
    Ok(Outcome {
        output: serde_json::json!({}),
        mutations: vec![Mutation::Put {
            kind: records::ACCESS_KEY.to_owned(),
            id: key.access_key_id.clone(),
            value: to_canonical(&key)?,
            expect,
        }],
    })
}

pub fn delete(call: &Call<'_>, input: DeleteInput) -> Result<Outcome, ServiceError> {
    let (key, expect) = owned_key(call, input.user_name.as_deref(), &input.access_key_id)?;
    Ok(Outcome {
        output: serde_json::json!({}),
        mutations: vec![Mutation::Delete {
            kind: records::ACCESS_KEY.to_owned(),
            id: key.access_key_id,
            expect,
        }],
    })
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let name = target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let user = super::users::find(&view, &call.caller.account_id, name)?;
    let mut keys: Vec<&AccessKey> = keys_of(&view, &user.account_id, &user.user_name).collect();
    keys.sort_by_key(|k| (k.created, &k.access_key_id));
    let metadata: Vec<KeyMetadata<'_>> = keys
        .iter()
        .map(|k| KeyMetadata {
            user_name: &k.user_name,
            access_key_id: &k.access_key_id,
            status: k.status,
            create_date: k.created,
        })
        .collect();
    Outcome::read(&serde_json::json!({ "AccessKeyMetadata": metadata, "IsTruncated": false }))
}

/// When a key of the caller's account was last used, from the audit trail (AWS's
/// `N/A` for a key never used).
pub async fn last_used(call: &Call<'_>, input: LastUsedInput) -> Result<Outcome, ServiceError> {
    let owner = {
        let view = call.plane.view();
        view.access_keys
            .get(&input.access_key_id)
            .map(|e| &e.key)
            .filter(|k| k.account_id == call.caller.account_id)
            .map(|k| k.user_name.clone())
            .ok_or_else(|| {
                no_such_entity(format!(
                    "The Access Key with id {} cannot be found.",
                    input.access_key_id
                ))
            })?
    };
    let used = super::reports::key_last_used(call, &input.access_key_id).await?;
    let last_used = match used {
        Some((at, region, service)) => {
            serde_json::json!({"LastUsedDate": at, "ServiceName": service, "Region": region})
        }
        None => serde_json::json!({"ServiceName": "N/A", "Region": "N/A"}),
    };
    let mut output = serde_json::json!({ "AccessKeyLastUsed": last_used });
    if !owner.is_empty() {
        output["UserName"] = serde_json::json!(owner);
    }
    Ok(Outcome::output(output))
}

/// A new active access key for a user, and its secret (to be shown once).
pub(crate) fn issue(
    plane: &ControlPlane,
    account_id: &str,
    user_name: &str,
    user_id: Option<&str>,
    now: i64,
) -> (AccessKey, Zeroizing<String>) {
    let access_key_id = ids::new_id(IdPrefix::AccessKey);
    let secret = Zeroizing::new(ids::new_secret_access_key());
    let key = AccessKey {
        sealed_secret: plane.seal(secret.as_bytes(), access_key_id.as_bytes()),
        access_key_id,
        account_id: account_id.to_owned(),
        user_name: user_name.to_owned(),
        user_id: user_id.map(str::to_owned),
        root: false,
        status: KeyStatus::Active,
        created: now,
    };
    (key, secret)
}

fn keys_of<'v>(
    view: &'v View,
    account_id: &'v str,
    user_name: &'v str,
) -> impl Iterator<Item = &'v AccessKey> {
    view.access_keys
        .values()
        .map(|e| &e.key)
        .filter(move |k| k.account_id == account_id && k.user_name == user_name)
}

/// The key `access_key_id` of the named (or calling) user, or NoSuchEntity.
/// The user's access key, and what a write of it insists on: the version read, so that
/// an UpdateAccessKey racing a DeleteAccessKey runs again and finds the key gone instead
/// of bringing it back.
fn owned_key(
    call: &Call<'_>,
    user_name: Option<&str>,
    access_key_id: &str,
) -> Result<(AccessKey, Expect), ServiceError> {
    let name = target_user_name(call, user_name)?;
    let view = call.plane.view();
    let user = super::users::find(&view, &call.caller.account_id, name)?;
    view.access_keys
        .get(access_key_id)
        .map(|e| &e.key)
        .filter(|k| k.account_id == user.account_id && k.user_name == user.user_name)
        .map(|k| {
            let expect = view.expect_current(records::ACCESS_KEY, access_key_id);
            (k.clone(), expect)
        })
        .ok_or_else(|| {
            no_such_entity(format!(
                "The Access Key with id {access_key_id} cannot be found."
            ))
        })
}
