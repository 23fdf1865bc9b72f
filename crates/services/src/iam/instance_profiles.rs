//! Instance profiles: containers that pass one role to EC2 instances.

use rampart_store::Expect;
use serde::Deserialize;
use serde_json::json;

use super::entity::{self, instance_profile_output};
use super::paging::Paging;
use super::{already_exists, check_count, delete_conflict, limit_exceeded};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::ids::{self, IdPrefix};
use crate::records::{self, InstanceProfile, Role, Tag};

/// AWS's quotas.
const PROFILES_PER_ACCOUNT: usize = 1000;
const ROLES_PER_PROFILE: usize = 1;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    instance_profile_name: String,
    path: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ProfileInput {
    instance_profile_name: String,
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
pub struct RoleInput {
    instance_profile_name: String,
    role_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForRoleInput {
    role_name: String,
    #[serde(flatten)]
    paging: Paging,
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let account = &call.caller.account_id;
    let view = call.plane.view();
    let id = records::entity_id(account, &input.instance_profile_name);
    if view.instance_profiles.contains_key(&id) {
        return Err(already_exists(format!(
            "Instance Profile {} already exists.",
            input.instance_profile_name
        )));
    }
    let count = view
        .instance_profiles
        .values()
        .filter(|p| &p.account_id == account)
        .count();
    check_count(count, "InstanceProfilesPerAccount", PROFILES_PER_ACCOUNT)?;
    super::tags::check_new(&input.tags)?;
    let profile = InstanceProfile {
        account_id: account.clone(),
        instance_profile_name: input.instance_profile_name,
        instance_profile_id: ids::new_id(IdPrefix::InstanceProfile),
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: call.now.timestamp(),
        roles: Vec::new(),
        tags: input.tags,
    };
    Ok(Outcome {
        output: json!({ "InstanceProfile": instance_profile_output(&view, &profile) }),
        mutations: vec![entity::put(&profile, Expect::Absent)?],
    })
}

pub fn get(call: &Call<'_>, input: ProfileInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let profile = find(call, &view, &input.instance_profile_name)?;
    Ok(Outcome::output(
        json!({ "InstanceProfile": instance_profile_output(&view, profile) }),
    ))
}

pub fn delete(call: &Call<'_>, input: ProfileInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let profile = find(call, &view, &input.instance_profile_name)?;
    if !profile.roles.is_empty() {
        return Err(delete_conflict(
            "Cannot delete entity, must remove roles from instance profile first.",
        ));
    }
    Ok(Outcome::changed(vec![entity::remove(&view, profile)]))
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let profiles = entity::listed::<InstanceProfile>(
        &view,
        &call.caller.account_id,
        input.path_prefix.as_deref(),
    );
    let page = input.paging.page(
        &profiles,
        |p| p.instance_profile_name.to_ascii_lowercase(),
        "InstanceProfiles",
        |p| instance_profile_output(&view, p),
    )?;
    Ok(Outcome::output(page))
}

pub fn add_role(call: &Call<'_>, input: RoleInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut profile = find(call, &view, &input.instance_profile_name)?.clone();
    let role = entity::find::<Role>(&view, &call.caller.account_id, &input.role_name)?;
    if profile.roles.len() >= ROLES_PER_PROFILE {
        return Err(limit_exceeded(
            "InstanceSessionsPerInstanceProfile",
            ROLES_PER_PROFILE,
        ));
    }
    profile.roles.push(role.role_name.clone());
    Ok(Outcome::changed(vec![entity::update(&view, &profile)?]))
}

pub fn remove_role(call: &Call<'_>, input: RoleInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut profile = find(call, &view, &input.instance_profile_name)?.clone();
    let before = profile.roles.len();
    profile
        .roles
        .retain(|r| !r.eq_ignore_ascii_case(&input.role_name));
    if profile.roles.len() == before {
        return Err(super::no_such_entity(format!(
            "The role with name {} cannot be found.",
            input.role_name
        )));
    }
    Ok(Outcome::changed(vec![entity::update(&view, &profile)?]))
}

pub fn list_for_role(call: &Call<'_>, input: ForRoleInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let role = entity::find::<Role>(&view, &call.caller.account_id, &input.role_name)?;
    let mut profiles: Vec<&InstanceProfile> = view
        .instance_profiles
        .values()
        .filter(|p| p.account_id == role.account_id && p.roles.contains(&role.role_name))
        .collect();
    profiles.sort_by_cached_key(|p| p.instance_profile_name.to_ascii_lowercase());
    let page = input.paging.page(
        &profiles,
        |p| p.instance_profile_name.to_ascii_lowercase(),
        "InstanceProfiles",
        |p| instance_profile_output(&view, p),
    )?;
    Ok(Outcome::output(page))
}

fn find<'v>(
    call: &Call<'_>,
    view: &'v crate::view::View,
    name: &str,
) -> Result<&'v InstanceProfile, ServiceError> {
    entity::find::<InstanceProfile>(view, &call.caller.account_id, name)
}
