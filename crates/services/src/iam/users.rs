//! IAM users: create, read and delete.

use crate::error::ServiceError;
use rampart_store::{Expect, Mutation};
use serde::{Deserialize, Serialize};

use super::no_such_entity;
use crate::call::{Call, Outcome, to_canonical};
use crate::ids::{self, IdPrefix};
use crate::records::{self, User};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateUserInput {
    user_name: String,
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserNameInput {
    user_name: Option<String>,
}

/// A user as IAM's API shows it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UserOutput {
    path: String,
    user_name: String,
    user_id: String,
    arn: String,
    create_date: i64,
}

impl From<&User> for UserOutput {
    fn from(user: &User) -> UserOutput {
        UserOutput {
            path: user.path.clone(),
            user_name: user.user_name.clone(),
            user_id: user.user_id.clone(),
            arn: user.arn(),
            create_date: user.created,
        }
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct UserEnvelope {
    user: UserOutput,
}

pub fn create(call: &Call<'_>, input: CreateUserInput) -> Result<Outcome, ServiceError> {
    let account_id = &call.caller.account_id;
    let id = records::user_id(account_id, &input.user_name);
    if call.plane.view().users.contains_key(&id) {
        return Err(ServiceError::modeled(
            "EntityAlreadyExists",
            format!("User with name {} already exists.", input.user_name),
        ));
    }
    let user = User {
        account_id: account_id.clone(),
        user_name: input.user_name,
        user_id: ids::new_id(IdPrefix::User),
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: call.now.timestamp(),
        attached_policies: Vec::new(),
    };
    Ok(Outcome {
        output: to_canonical(&UserEnvelope {
            user: UserOutput::from(&user),
        })?,
        mutations: vec![Mutation::Put {
            kind: records::IAM_USER.to_owned(),
            id,
            value: to_canonical(&user)?,
            expect: Expect::Absent,
        }],
    })
}

pub fn get(call: &Call<'_>, input: UserNameInput) -> Result<Outcome, ServiceError> {
    let name = super::target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let user = find(&view, &call.caller.account_id, name)?;
    Outcome::read(&UserEnvelope {
        user: UserOutput::from(user),
    })
}

pub fn delete(call: &Call<'_>, input: UserNameInput) -> Result<Outcome, ServiceError> {
    let name = super::target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let user = find(&view, &call.caller.account_id, name)?;
    let has_keys = view
        .access_keys
        .values()
        .any(|e| e.key.account_id == user.account_id && e.key.user_name == user.user_name);
    if has_keys || !user.attached_policies.is_empty() {
        return Err(ServiceError::modeled(
            "DeleteConflict",
            "Cannot delete entity, must delete access keys first.",
        ));
    }
    Ok(Outcome {
        output: serde_json::json!({}),
        mutations: vec![Mutation::Delete {
            kind: records::IAM_USER.to_owned(),
            id: records::user_id(&user.account_id, &user.user_name),
            expect: Expect::Any,
        }],
    })
}

/// The user `name` of `account_id`, or IAM's NoSuchEntity.
pub(super) fn find<'v>(
    view: &'v crate::view::View,
    account_id: &str,
    name: &str,
) -> Result<&'v User, ServiceError> {
    view.users
        .get(&records::user_id(account_id, name))
        .ok_or_else(|| no_such_entity(format!("The user with name {name} cannot be found.")))
}
