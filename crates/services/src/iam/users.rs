//! IAM users: create, read, list, rename and delete.

use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::json;

use super::entity::{self, user_output};
use super::paging::Paging;
use super::{already_exists, check_count, delete_conflict};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::ids::{self, IdPrefix};
use crate::records::{self, Tag, User};
use crate::view::View;

/// AWS's default quota of users per account.
const USERS_PER_ACCOUNT: usize = 5000;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    user_name: String,
    path: Option<String>,
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserNameInput {
    user_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    path_prefix: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    user_name: String,
    new_path: Option<String>,
    new_user_name: Option<String>,
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let account_id = &call.caller.account_id;
    let view = call.plane.view();
    if view.user(account_id, &input.user_name).is_some() {
        return Err(already_exists(format!(
            "User with name {} already exists.",
            input.user_name
        )));
    }
    let count = view
        .users
        .values()
        .filter(|u| &u.account_id == account_id)
        .count();
    check_count(count, "UsersPerAccount", USERS_PER_ACCOUNT)?;
    if let Some(arn) = &input.permissions_boundary {
        super::permissions::check_boundary(&view, arn)?;
    }
    super::tags::check_new(&input.tags)?;
    let user = User {
        account_id: account_id.clone(),
        user_name: input.user_name,
        user_id: ids::new_id(IdPrefix::User),
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: call.now.timestamp(),
        permissions: Default::default(),
        groups: Vec::new(),
        permissions_boundary: input.permissions_boundary,
        tags: input.tags,
    };
    Ok(Outcome {
        output: json!({ "User": user_output(&user) }),
        mutations: vec![entity::put(&user, Expect::Absent)?],
    })
}

pub fn get(call: &Call<'_>, input: UserNameInput) -> Result<Outcome, ServiceError> {
    let name = super::target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let user = find(&view, &call.caller.account_id, name)?;
    Ok(Outcome::output(json!({ "User": user_output(user) })))
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    entity::list::<User>(
        call,
        input.path_prefix.as_deref(),
        &input.paging,
        "Users",
        user_output,
    )
}

/// Renames a user or moves it to a new path. Its groups, policies and keys follow.
pub fn update(call: &Call<'_>, input: UpdateInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let old = find(&view, account, &input.user_name)?;
    let mut user = old.clone();
    if let Some(path) = input.new_path {
        user.path = path;
    }
    let mut mutations = Vec::new();
    if let Some(new_name) = input.new_user_name.filter(|n| n != &old.user_name) {
        let renamed_only_in_case = new_name.eq_ignore_ascii_case(&old.user_name);
        if !renamed_only_in_case && view.user(account, &new_name).is_some() {
            return Err(already_exists(format!(
                "User with name {new_name} already exists."
            )));
        }
        for key in view.access_keys.values().map(|e| &e.key) {
            if key.account_id == *account && key.user_name == old.user_name {
                let mut key = key.clone();
                key.user_name = new_name.clone();
                mutations.push(view.write_back(Mutation::Put {
                    kind: records::ACCESS_KEY.to_owned(),
                    id: key.access_key_id.clone(),
                    value: crate::call::to_canonical(&key)?,
                    expect: Expect::Any,
                }));
            }
        }
        mutations.extend(super::passwords::follow_rename(
            &view,
            account,
            &old.user_name,
            &new_name,
        )?);
        mutations.extend(super::mfa::follow_rename(
            &view,
            account,
            &old.user_name,
            &new_name,
        )?);
        user.user_name = new_name;
        if !renamed_only_in_case {
            mutations.push(entity::remove(&view, old));
        }
    }
    if user.arn() != old.arn() {
        mutations.extend(super::principals::follow(
            &view,
            &old.arn(),
            &user.arn(),
            None,
        )?);
    }
    mutations.push(entity::update(&view, &user)?);
    Ok(Outcome::changed(mutations))
}

pub fn delete(call: &Call<'_>, input: UserNameInput) -> Result<Outcome, ServiceError> {
    let name = super::target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let user = find(&view, &call.caller.account_id, name)?;
    let has_keys = view
        .access_keys
        .values()
        .any(|e| e.key.account_id == user.account_id && e.key.user_name == user.user_name);
    if has_keys {
        return Err(delete_conflict(
            "Cannot delete entity, must delete access keys first.",
        ));
    }
    if !user.groups.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must remove users from group first.",
        ));
    }
    if super::passwords::has_profile(&view, &user.account_id, &user.user_name) {
        return Err(delete_conflict(
            "Cannot delete entity, must delete login profile first.",
        ));
    }
    if super::mfa::has_devices(&view, &user.account_id, &user.user_name) {
        return Err(delete_conflict(
            "Cannot delete entity, must delete MFA device first.",
        ));
    }
    super::permissions::check_none_left(&user.permissions)?;
    let mut mutations = super::principals::follow(&view, &user.arn(), &user.user_id, None)?;
    mutations.push(entity::remove(&view, user));
    Ok(Outcome::changed(mutations))
}

/// The user `name` of `account_id`, or IAM's NoSuchEntity.
pub(super) fn find<'v>(
    view: &'v View,
    account_id: &str,
    name: &str,
) -> Result<&'v User, ServiceError> {
    entity::find::<User>(view, account_id, name)
}
