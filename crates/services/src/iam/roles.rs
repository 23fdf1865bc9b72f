//! IAM roles: identities that principals named by the role's trust policy assume
//! through STS, for sessions of at most the role's maximum session duration.

use rampart_policy::PolicyType;
use rampart_store::Expect;
use serde::Deserialize;
use serde_json::json;

use super::entity::{self, role_output};
use super::paging::Paging;
use super::{already_exists, check_count, check_document, delete_conflict};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::ids::{self, IdPrefix};
use crate::records::{Role, Tag};

/// AWS's default quota of roles per account.
const ROLES_PER_ACCOUNT: usize = 1000;
/// The range of MaxSessionDuration, in seconds.
const SESSION_DURATION: std::ops::RangeInclusive<i64> = 3600..=43200;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    role_name: String,
    path: Option<String>,
    assume_role_policy_document: String,
    description: Option<String>,
    max_session_duration: Option<i64>,
    permissions_boundary: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleInput {
    role_name: String,
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
    role_name: String,
    description: Option<String>,
    max_session_duration: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateDescriptionInput {
    role_name: String,
    description: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateTrustInput {
    role_name: String,
    policy_document: String,
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let account = &call.caller.account_id;
    let view = call.plane.view();
    if view.role(account, &input.role_name).is_some() {
        return Err(already_exists(format!(
            "Role with name {} already exists.",
            input.role_name
        )));
    }
    let count = view
        .roles
        .values()
        .filter(|r| &r.account_id == account)
        .count();
    check_count(count, "RolesPerAccount", ROLES_PER_ACCOUNT)?;
    check_document(&input.assume_role_policy_document, PolicyType::Trust)?;
    super::principals::check_exist(&view, &input.assume_role_policy_document)?;
    let max_session_duration = check_duration(input.max_session_duration)?;
    if let Some(arn) = &input.permissions_boundary {
        super::permissions::check_boundary(&view, arn)?;
    }
    super::tags::check_new(&input.tags)?;
    let role = Role {
        account_id: account.clone(),
        role_name: input.role_name,
        role_id: ids::new_id(IdPrefix::Role),
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        created: call.now.timestamp(),
        assume_role_policy: input.assume_role_policy_document,
        description: input.description,
        max_session_duration,
        permissions: Default::default(),
        permissions_boundary: input.permissions_boundary,
        tags: input.tags,
        last_used: None,
    };
    let mut output = role_output(&role);
    // CreateRole's output has no RoleLastUsed.
    if let Some(o) = output.as_object_mut() {
        o.remove("RoleLastUsed");
    }
    Ok(Outcome {
        output: json!({ "Role": output }),
        mutations: vec![entity::put(&role, Expect::Absent)?],
    })
}

pub fn get(call: &Call<'_>, input: RoleInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let role = entity::find::<Role>(&view, &call.caller.account_id, &input.role_name)?;
    Ok(Outcome::output(json!({ "Role": role_output(role) })))
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    entity::list::<Role>(
        call,
        input.path_prefix.as_deref(),
        &input.paging,
        "Roles",
        role_output,
    )
}

pub fn update(call: &Call<'_>, input: UpdateInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut role = entity::find::<Role>(&view, &call.caller.account_id, &input.role_name)?.clone();
    if let Some(description) = input.description {
        role.description = Some(description);
    }
    if input.max_session_duration.is_some() {
        role.max_session_duration = check_duration(input.max_session_duration)?;
    }
    Ok(Outcome::changed(vec![entity::update(&view, &role)?]))
}

pub fn update_description(
    call: &Call<'_>,
    input: UpdateDescriptionInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut role = entity::find::<Role>(&view, &call.caller.account_id, &input.role_name)?.clone();
    role.description = Some(input.description);
    Ok(Outcome {
        output: json!({ "Role": role_output(&role) }),
        mutations: vec![entity::update(&view, &role)?],
    })
}

/// Replaces the role's trust policy.
pub fn update_trust(call: &Call<'_>, input: UpdateTrustInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut role = entity::find::<Role>(&view, &call.caller.account_id, &input.role_name)?.clone();
    check_document(&input.policy_document, PolicyType::Trust)?;
    super::principals::check_exist(&view, &input.policy_document)?;
    role.assume_role_policy = input.policy_document;
    Ok(Outcome::changed(vec![entity::update(&view, &role)?]))
}

pub fn delete(call: &Call<'_>, input: RoleInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let role = entity::find::<Role>(&view, &call.caller.account_id, &input.role_name)?;
    let in_profile = view
        .instance_profiles
        .values()
        .any(|p| p.account_id == role.account_id && p.roles.iter().any(|r| r == &role.role_name));
    if in_profile {
        return Err(delete_conflict(
            "Cannot delete entity, must remove roles from instance profile first.",
        ));
    }
    super::permissions::check_none_left(&role.permissions)?;
    let mut mutations = super::principals::follow(&view, &role.arn(), &role.role_id, Some(role))?;
    mutations.push(entity::remove(&view, role));
    Ok(Outcome::changed(mutations))
}

/// MaxSessionDuration, defaulting to one hour.
fn check_duration(seconds: Option<i64>) -> Result<i64, ServiceError> {
    let seconds = seconds.unwrap_or(*SESSION_DURATION.start());
    if !SESSION_DURATION.contains(&seconds) {
        return Err(ServiceError::Validation(format!(
            "The requested MaxSessionDuration {seconds} is invalid. MaxSessionDuration must be between 3600 and 43200 seconds."
        )));
    }
    Ok(seconds)
}
