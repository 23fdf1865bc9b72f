//! IAM groups and their members. Membership is stored on the user (its `groups`), so
//! compiling a user's permissions reads one record; the view indexes the members of
//! each group.

use rampart_store::Expect;
use serde::Deserialize;
use serde_json::json;

use super::entity::{self, Entity, group_output, user_output};
use super::paging::Paging;
use super::{already_exists, check_count, delete_conflict, limit_exceeded, users};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::ids::{self, IdPrefix};
use crate::records::{self, Group, User};

/// AWS's default quotas.
const GROUPS_PER_ACCOUNT: usize = 300;
const GROUPS_PER_USER: usize = 10;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    group_name: String,
    path: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupInput {
    group_name: String,
    #[serde(flatten)]
    paging: Paging,
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
    group_name: String,
    new_path: Option<String>,
    new_group_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MembershipInput {
    group_name: String,
    user_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForUserInput {
    user_name: String,
    #[serde(flatten)]
    paging: Paging,
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let account = &call.caller.account_id;
    let view = call.plane.view();
    if view
        .groups
        .contains_key(&records::entity_id(account, &input.group_name))
    {
        return Err(already_exists(format!(
            "Group with name {} already exists.",
            input.group_name
        )));
    }
    let count = view
        .groups
        .values()
        .filter(|g| &g.account_id == account)
        .count();
    check_count(count, "GroupsPerAccount", GROUPS_PER_ACCOUNT)?;
    let group = Group {
        account_id: account.clone(),
        group_name: input.group_name,
        group_id: ids::new_id(IdPrefix::Group),
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: call.now.timestamp(),
        permissions: Default::default(),
    };
    Ok(Outcome {
        output: json!({ "Group": group_output(&group) }),
        mutations: vec![entity::put(&group, Expect::Absent)?],
    })
}

/// The group and (a page of) its members.
pub fn get(call: &Call<'_>, input: GroupInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let group = entity::find::<Group>(&view, &call.caller.account_id, &input.group_name)?;
    let mut members: Vec<&User> = members_of(&view, group).collect();
    members.sort_by_cached_key(|u| u.user_name.to_ascii_lowercase());
    let mut output = input.paging.page(
        &members,
        |u| u.user_name.to_ascii_lowercase(),
        "Users",
        |u| user_output(u),
    )?;
    output["Group"] = group_output(group);
    Ok(Outcome::output(output))
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    entity::list::<Group>(
        call,
        input.path_prefix.as_deref(),
        &input.paging,
        "Groups",
        group_output,
    )
}

/// Renames a group or moves it; its members follow it.
pub fn update(call: &Call<'_>, input: UpdateInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let old = entity::find::<Group>(&view, account, &input.group_name)?;
    let mut group = old.clone();
    if let Some(path) = input.new_path {
        group.path = path;
    }
    let mut mutations = Vec::new();
    if let Some(new_name) = input.new_group_name.filter(|n| n != &old.group_name) {
        let case_only = new_name.eq_ignore_ascii_case(&old.group_name);
        if !case_only
            && view
                .groups
                .contains_key(&records::entity_id(account, &new_name))
        {
            return Err(already_exists(format!(
                "Group with name {new_name} already exists."
            )));
        }
        for user in members_of(&view, old) {
            let mut user = user.clone();
            for g in user.groups.iter_mut() {
                if g.eq_ignore_ascii_case(&old.group_name) {
                    g.clone_from(&new_name);
                }
            }
            mutations.push(entity::update(&view, &user)?);
        }
        group.group_name = new_name;
        if !case_only {
            mutations.push(entity::remove(&view, old));
        }
    }
    mutations.push(entity::update(&view, &group)?);
    Ok(Outcome::changed(mutations))
}

pub fn delete(call: &Call<'_>, input: GroupInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let group = entity::find::<Group>(&view, &call.caller.account_id, &input.group_name)?;
    if members_of(&view, group).next().is_some() {
        return Err(delete_conflict(
            "Cannot delete entity, must remove users from group first.",
        ));
    }
    super::permissions::check_none_left(&group.permissions)?;
    Ok(Outcome::changed(vec![entity::remove(&view, group)]))
}

pub fn add_user(call: &Call<'_>, input: MembershipInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let group = entity::find::<Group>(&view, account, &input.group_name)?;
    let mut user = users::find(&view, account, &input.user_name)?.clone();
    if user.in_group(&group.group_name) {
        return Ok(Outcome::changed(Vec::new()));
    }
    if user.groups.len() >= GROUPS_PER_USER {
        return Err(limit_exceeded("GroupsPerUser", GROUPS_PER_USER));
    }
    user.groups.push(group.group_name.clone());
    Ok(Outcome::changed(vec![entity::update(&view, &user)?]))
}

pub fn remove_user(call: &Call<'_>, input: MembershipInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let group = entity::find::<Group>(&view, account, &input.group_name)?;
    let mut user = users::find(&view, account, &input.user_name)?.clone();
    if !user.in_group(&group.group_name) {
        return Err(super::no_such_entity(format!(
            "The user with name {} cannot be found.",
            input.user_name
        )));
    }
    user.groups
        .retain(|g| !g.eq_ignore_ascii_case(&group.group_name));
    Ok(Outcome::changed(vec![entity::update(&view, &user)?]))
}

pub fn list_for_user(call: &Call<'_>, input: ForUserInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let user = users::find(&view, account, &input.user_name)?;
    let mut groups: Vec<&Group> = user
        .groups
        .iter()
        .filter_map(|g| view.groups.get(&records::entity_id(account, g)))
        .collect();
    groups.sort_by_cached_key(|g| g.group_name.to_ascii_lowercase());
    let page = input.paging.page(
        &groups,
        |g| g.group_name.to_ascii_lowercase(),
        "Groups",
        |g| group_output(g),
    )?;
    Ok(Outcome::output(page))
}

/// The users in `group`.
fn members_of<'v>(view: &'v crate::view::View, group: &Group) -> impl Iterator<Item = &'v User> {
    view.identity
        .members
        .get(&group.id())
        .into_iter()
        .flatten()
        .filter_map(|id| view.users.get(id))
}
