//! What gives users, groups and roles their permissions, the same way for each:
//! inline policies (Put/Get/Delete/List…Policy), attached managed policies
//! (Attach/Detach/ListAttached…Policies) and permissions boundaries
//! (Put/Delete…PermissionsBoundary).

use rampart_policy::{PolicyType, policy_size};
use serde::Deserialize;
use serde_json::json;

use super::entity::{self, Bounded, Entity, Holder};
use super::paging::Paging;
use super::{check_document, encode_document, limit_exceeded, no_such_entity};
use crate::aws_managed;
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::records::Permissions;
use crate::view::{View, parse_policy_arn};

/// The entity an operation names: `UserName`, `GroupName` or `RoleName`.
#[derive(Deserialize)]
pub struct Named {
    #[serde(rename = "UserName", alias = "GroupName", alias = "RoleName")]
    entity: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutInlineInput {
    #[serde(flatten)]
    named: Named,
    policy_name: String,
    policy_document: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InlineInput {
    #[serde(flatten)]
    named: Named,
    policy_name: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    #[serde(flatten)]
    named: Named,
    path_prefix: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachInput {
    #[serde(flatten)]
    named: Named,
    policy_arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct BoundaryInput {
    #[serde(flatten)]
    named: Named,
    permissions_boundary: String,
}

pub fn put_inline<T: Holder>(
    call: &Call<'_>,
    input: PutInlineInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut holder = find::<T>(call, &view, &input.named)?.clone();
    check_document(&input.policy_document, PolicyType::Identity)?;
    let others: usize = holder
        .permissions()
        .inline_policies
        .iter()
        .filter(|(name, _)| **name != input.policy_name)
        .map(|(_, doc)| policy_size(doc))
        .sum();
    if others + policy_size(&input.policy_document) > T::INLINE_QUOTA {
        return Err(limit_exceeded_size::<T>(holder.name()));
    }
    holder
        .permissions_mut()
        .inline_policies
        .insert(input.policy_name, input.policy_document);
    Ok(Outcome::changed(vec![entity::update(&view, &holder)?]))
}

pub fn get_inline<T: Holder>(call: &Call<'_>, input: InlineInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let holder = find::<T>(call, &view, &input.named)?;
    let (name, document) = holder
        .permissions()
        .inline_policies
        .get_key_value(&input.policy_name)
        .ok_or_else(|| missing_inline::<T>(&input.policy_name))?;
    Ok(Outcome::output(json!({
        name_member::<T>(): holder.name(),
        "PolicyName": name,
        "PolicyDocument": encode_document(document),
    })))
}

pub fn delete_inline<T: Holder>(
    call: &Call<'_>,
    input: InlineInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut holder = find::<T>(call, &view, &input.named)?.clone();
    if holder
        .permissions_mut()
        .inline_policies
        .remove(&input.policy_name)
        .is_none()
    {
        return Err(missing_inline::<T>(&input.policy_name));
    }
    Ok(Outcome::changed(vec![entity::update(&view, &holder)?]))
}

pub fn list_inline<T: Holder>(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let holder = find::<T>(call, &view, &input.named)?;
    let names: Vec<&String> = holder.permissions().inline_policies.keys().collect();
    let page = input
        .paging
        .page(&names, |n| (*n).clone(), "PolicyNames", |n| json!(n))?;
    Ok(Outcome::output(page))
}

pub fn attach<T: Holder>(call: &Call<'_>, input: AttachInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut holder = find::<T>(call, &view, &input.named)?.clone();
    if !exists(&view, &input.policy_arn) {
        return Err(no_such_entity(format!(
            "Policy {} does not exist or is not attachable.",
            input.policy_arn
        )));
    }
    let attached = &mut holder.permissions_mut().attached_policies;
    if attached.contains(&input.policy_arn) {
        return Ok(Outcome::changed(Vec::new()));
    }
    let (quota_name, quota) = T::ATTACHED_QUOTA;
    if attached.len() >= quota {
        return Err(limit_exceeded(quota_name, quota));
    }
    attached.push(input.policy_arn);
    Ok(Outcome::changed(vec![entity::update(&view, &holder)?]))
}

pub fn detach<T: Holder>(call: &Call<'_>, input: AttachInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut holder = find::<T>(call, &view, &input.named)?.clone();
    let attached = &mut holder.permissions_mut().attached_policies;
    let before = attached.len();
    attached.retain(|arn| arn != &input.policy_arn);
    if attached.len() == before {
        return Err(no_such_entity(format!(
            "Policy {} was not found.",
            input.policy_arn
        )));
    }
    Ok(Outcome::changed(vec![entity::update(&view, &holder)?]))
}

pub fn list_attached<T: Holder>(
    call: &Call<'_>,
    input: ListInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let holder = find::<T>(call, &view, &input.named)?;
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let mut attached: Vec<(&str, &str)> = holder
        .permissions()
        .attached_policies
        .iter()
        .filter(|arn| policy_path(arn).starts_with(prefix))
        .filter_map(|arn| Some((parse_policy_arn(arn)?.1, arn.as_str())))
        .collect();
    attached.sort_by_key(|(name, _)| name.to_ascii_lowercase());
    let page = input.paging.page(
        &attached,
        |(name, _)| name.to_ascii_lowercase(),
        "AttachedPolicies",
        |(name, arn)| json!({"PolicyName": name, "PolicyArn": arn}),
    )?;
    Ok(Outcome::output(page))
}

pub fn put_boundary<T: Bounded>(
    call: &Call<'_>,
    input: BoundaryInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut holder = find::<T>(call, &view, &input.named)?.clone();
    check_boundary(&view, &input.permissions_boundary)?;
    *holder.boundary_mut() = Some(input.permissions_boundary);
    Ok(Outcome::changed(vec![entity::update(&view, &holder)?]))
}

pub fn delete_boundary<T: Bounded>(call: &Call<'_>, input: Named) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut holder = find::<T>(call, &view, &input)?.clone();
    *holder.boundary_mut() = None;
    Ok(Outcome::changed(vec![entity::update(&view, &holder)?]))
}

/// An entity can be deleted only once it holds no policies, as AWS requires.
pub(super) fn check_none_left(permissions: &Permissions) -> Result<(), ServiceError> {
    if !permissions.attached_policies.is_empty() {
        return Err(super::delete_conflict(
            "Cannot delete entity, must detach all policies first.",
        ));
    }
    if !permissions.inline_policies.is_empty() {
        return Err(super::delete_conflict(
            "Cannot delete entity, must delete policies first.",
        ));
    }
    Ok(())
}

/// A permissions boundary must be an existing managed policy.
pub(super) fn check_boundary(view: &View, arn: &str) -> Result<(), ServiceError> {
    if exists(view, arn) {
        Ok(())
    } else {
        Err(no_such_entity(format!(
            "Scope ARN: {arn} does not exist or is not attachable."
        )))
    }
}

/// Whether `arn` names a managed policy: a customer one in the view or an AWS-managed one.
pub(super) fn exists(view: &View, arn: &str) -> bool {
    view.policy_by_arn(arn).is_some() || aws_managed::policy(arn).is_some()
}

/// The path of a managed policy ARN (`/` for `…:policy/Name`).
fn policy_path(arn: &str) -> String {
    let resource = arn.split_once(":policy").map_or("", |(_, r)| r);
    match resource.rfind('/') {
        Some(end) => resource[..=end].to_owned(),
        None => "/".to_owned(),
    }
}

fn find<'v, T: Entity>(
    call: &Call<'_>,
    view: &'v View,
    named: &Named,
) -> Result<&'v T, ServiceError> {
    entity::find::<T>(view, &call.caller.account_id, &named.entity)
}

/// `UserName`, `GroupName` or `RoleName`.
fn name_member<T: Holder>() -> &'static str {
    match T::NOUN {
        "user" => "UserName",
        "group" => "GroupName",
        _ => "RoleName",
    }
}

fn missing_inline<T: Holder>(policy_name: &str) -> ServiceError {
    no_such_entity(format!(
        "The {} policy with name {policy_name} cannot be found.",
        T::NOUN
    ))
}

fn limit_exceeded_size<T: Holder>(name: &str) -> ServiceError {
    ServiceError::modeled(
        "LimitExceeded",
        format!(
            "Maximum policy size of {} bytes exceeded for {} {name}",
            T::INLINE_QUOTA,
            T::NOUN
        ),
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn policy_paths_come_from_the_arn() {
        assert_eq!(super::policy_path("arn:aws:iam::1:policy/Admin"), "/");
        assert_eq!(
            super::policy_path("arn:aws:iam::aws:policy/job-function/ViewOnlyAccess"),
            "/job-function/"
        );
    }
}
