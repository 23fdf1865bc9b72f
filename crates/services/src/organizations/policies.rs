//! Organization policies: the policy types enabled on the root, customer policies and
//! the AWS-managed full-access ones, their attachment to the root, OUs and accounts,
//! and effective (inherited) management policies such as tag policies.

use rampart_policy::PolicyType;
use rampart_store::Expect;
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::structure::{
    accounts_of, delete as remove, find_ou, put, root_output, target_not_found, units_of,
    write_back,
};
use super::{arn, managed, member, organization};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::ids;
use crate::paging::TokenPaging;
use crate::records::{self, OrgPolicy, Organization, Tag};
use crate::view::View;
use crate::view::organizations::{AWS_POLICIES, RCP, SCP};

/// AWS's quotas.
const POLICIES_PER_TYPE: usize = 1000;
const ATTACHED_PER_TARGET: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyTypeInput {
    root_id: String,
    policy_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    content: String,
    description: String,
    name: String,
    #[serde(rename = "Type")]
    policy_type: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyInput {
    policy_id: String,
    name: Option<String>,
    description: Option<String>,
    content: Option<String>,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    filter: String,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AttachInput {
    policy_id: String,
    target_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ForTargetInput {
    target_id: String,
    filter: String,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EffectiveInput {
    policy_type: String,
    target_id: Option<String>,
}

/// Enables a policy type on the root. Enabling SCPs or RCPs attaches the AWS-managed
/// full-access policy of that type everywhere, so nothing is denied until a customer
/// policy is attached in its place.
pub fn enable_type(call: &Call<'_>, input: PolicyTypeInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut org = managed(&view, call)?.clone();
    check_root(&org, &input.root_id)?;
    if org.enabled_policy_types.contains(&input.policy_type) {
        return Err(ServiceError::modeled(
            "PolicyTypeAlreadyEnabledException",
            "The specified policy type is already enabled.",
        ));
    }
    org.enabled_policy_types.push(input.policy_type.clone());
    let full_access = AWS_POLICIES
        .iter()
        .find(|p| p.2 == input.policy_type)
        .map(|p| p.0.to_owned());
    let mut mutations = Vec::new();
    if let Some(id) = &full_access {
        attach_everywhere(&view, &mut org, id, &mut mutations)?;
    }
    mutations.push(write_back(&view, records::ORGANIZATION, &org.id, &org)?);
    Ok(Outcome {
        output: json!({ "Root": root_output(&org) }),
        mutations,
    })
}

/// Disables a policy type: every policy of that type is detached everywhere.
pub fn disable_type(call: &Call<'_>, input: PolicyTypeInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut org = managed(&view, call)?.clone();
    check_root(&org, &input.root_id)?;
    if !org.enabled_policy_types.contains(&input.policy_type) {
        return Err(not_enabled());
    }
    org.enabled_policy_types.retain(|t| *t != input.policy_type);
    let of_type = |id: &String| policy_type_of(&view, id).is_some_and(|t| t == input.policy_type);
    org.root_policies.retain(|id| !of_type(id));
    let mut mutations = Vec::new();
    for ou in units_of(&view, &org) {
        if ou.policies.iter().any(of_type) {
            let mut ou = ou.clone();
            ou.policies.retain(|id| !of_type(id));
            mutations.push(write_back(&view, records::ORG_UNIT, &ou.id, &ou)?);
        }
    }
    for account in accounts_of(&view, &org) {
        if let Some(m) = account
            .membership
            .as_ref()
            .filter(|m| m.policies.iter().any(of_type))
        {
            let mut account = account.clone();
            let mut m = m.clone();
            m.policies.retain(|id| !of_type(id));
            account.membership = Some(m);
            mutations.push(write_back(
                &view,
                records::ACCOUNT,
                &account.account_id,
                &account,
            )?);
        }
    }
    mutations.push(write_back(&view, records::ORGANIZATION, &org.id, &org)?);
    Ok(Outcome {
        output: json!({ "Root": root_output(&org) }),
        mutations,
    })
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    check_content(&input.policy_type, &input.content)?;
    super::check_tags(&input.tags)?;
    let same_type = view
        .org
        .policies
        .values()
        .filter(|p| p.organization_id == org.id && p.policy_type == input.policy_type);
    let mut count = 0;
    for policy in same_type {
        if policy.name == input.name {
            return Err(ServiceError::modeled(
                "DuplicatePolicyException",
                "A policy with the same name already exists.",
            ));
        }
        count += 1;
    }
    if count >= POLICIES_PER_TYPE {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "POLICY_NUMBER_LIMIT_EXCEEDED",
            "You have reached the maximum number of policies of this type.",
        ));
    }
    let policy = OrgPolicy {
        id: ids::new_org_id("p-", 8),
        organization_id: org.id.clone(),
        name: input.name,
        description: input.description,
        policy_type: input.policy_type,
        content: input.content,
        tags: input.tags,
    };
    Ok(Outcome {
        output: json!({ "Policy": policy_output(org, &policy) }),
        mutations: vec![put(
            records::ORG_POLICY,
            &policy.id,
            &policy,
            Expect::Absent,
        )?],
    })
}

pub fn describe(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = organization(&view, call)?;
    let output = match view
        .org
        .policies
        .get(&input.policy_id)
        .filter(|p| p.organization_id == org.id)
    {
        Some(policy) => policy_output(org, policy),
        None => aws_policy_output(&input.policy_id).ok_or_else(policy_not_found)?,
    };
    Ok(Outcome::output(json!({ "Policy": output })))
}

pub fn update(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut policy = customer(&view, org, &input.policy_id)?.clone();
    if let Some(content) = input.content {
        check_content(&policy.policy_type, &content)?;
        policy.content = content;
    }
    if let Some(name) = input.name {
        policy.name = name;
    }
    if let Some(description) = input.description {
        policy.description = description;
    }
    Ok(Outcome {
        output: json!({ "Policy": policy_output(org, &policy) }),
        mutations: vec![write_back(&view, records::ORG_POLICY, &policy.id, &policy)?],
    })
}

pub fn delete(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let policy = customer(&view, org, &input.policy_id)?;
    if !targets_of(&view, org, &policy.id).is_empty() {
        return Err(ServiceError::modeled(
            "PolicyInUseException",
            "The policy is attached to one or more entities. You must detach it from all roots, OUs, and accounts before performing this operation.",
        ));
    }
    Ok(Outcome::changed(vec![remove(
        records::ORG_POLICY,
        &policy.id,
    )]))
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut summaries: Vec<Value> = AWS_POLICIES
        .iter()
        .filter(|p| p.2 == input.filter)
        .filter_map(|p| aws_policy_output(p.0))
        .map(|p| p["PolicySummary"].clone())
        .collect();
    summaries.extend(
        view.org
            .policies
            .values()
            .filter(|p| p.organization_id == org.id && p.policy_type == input.filter)
            .map(|p| policy_output(org, p)["PolicySummary"].clone()),
    );
    page_by(&input.paging, summaries, "Id", "Policies")
}

pub fn attach(call: &Call<'_>, input: AttachInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let policy_type = usable_policy_type(&view, org, &input.policy_id)?;
    if !org.enabled_policy_types.iter().any(|t| t == policy_type) {
        return Err(not_enabled());
    }
    let mut attached = attached_to(&view, org, &input.target_id)?;
    if attached.contains(&input.policy_id) {
        return Err(ServiceError::modeled(
            "DuplicatePolicyAttachmentException",
            "The selected policy is already attached to the specified target.",
        ));
    }
    let of_type = attached
        .iter()
        .filter(|id| policy_type_of(&view, id) == Some(policy_type))
        .count();
    if of_type >= ATTACHED_PER_TARGET {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "MAX_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to attach a policy to an entity that already has the maximum number of policies of that type attached.",
        ));
    }
    attached.push(input.policy_id);
    Ok(Outcome::changed(vec![set_attached(
        &view,
        org,
        &input.target_id,
        attached,
    )?]))
}

/// Detaches a policy; a target keeps at least one SCP (and one RCP) while the type is
/// enabled, as AWS requires.
pub fn detach(call: &Call<'_>, input: AttachInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let policy_type = usable_policy_type(&view, org, &input.policy_id)?;
    let mut attached = attached_to(&view, org, &input.target_id)?;
    if !attached.contains(&input.policy_id) {
        return Err(ServiceError::modeled(
            "PolicyNotAttachedException",
            "The policy isn't attached to the specified target in the specified root.",
        ));
    }
    attached.retain(|id| *id != input.policy_id);
    let control_policy = policy_type == SCP || policy_type == RCP;
    let remaining = attached
        .iter()
        .filter(|id| policy_type_of(&view, id) == Some(policy_type))
        .count();
    if control_policy && remaining == 0 {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "MIN_POLICY_TYPE_ATTACHMENT_LIMIT_EXCEEDED",
            "You attempted to detach a policy from an entity that would leave it with no policies of that type attached. Each root, OU and account must keep at least one.",
        ));
    }
    Ok(Outcome::changed(vec![set_attached(
        &view,
        org,
        &input.target_id,
        attached,
    )?]))
}

pub fn list_for_target(call: &Call<'_>, input: ForTargetInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let attached = attached_to(&view, org, &input.target_id)?;
    let summaries: Vec<Value> = attached
        .iter()
        .filter(|id| policy_type_of(&view, id) == Some(input.filter.as_str()))
        .filter_map(|id| summary(&view, org, id))
        .collect();
    page_by(&input.paging, summaries, "Id", "Policies")
}

pub fn list_targets(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    usable_policy_type(&view, org, &input.policy_id)?;
    page_by(
        &input.paging,
        targets_of(&view, org, &input.policy_id),
        "TargetId",
        "Targets",
    )
}

/// The effective management policy (tag policy, …) of an account: the policies of
/// that type attached from the root down to the account, merged so that a child's
/// keys replace its parent's.
pub fn describe_effective(call: &Call<'_>, input: EffectiveInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = organization(&view, call)?;
    let target = input
        .target_id
        .clone()
        .unwrap_or_else(|| call.caller.account_id.clone());
    if target != call.caller.account_id && org.management_account_id != call.caller.account_id {
        return Err(super::access_denied());
    }
    if !org.enabled_policy_types.contains(&input.policy_type) {
        return Err(not_enabled());
    }
    let account = member(&view, org, &target)?;
    let membership = account.membership.as_ref().ok_or_else(target_not_found)?;
    let mut levels: Vec<&[String]> = view
        .org
        .ancestry(&membership.parent_id)
        .iter()
        .map(|level| attached_to_level(&view, org, level))
        .collect();
    levels.push(&membership.policies);
    let mut effective = Map::new();
    let mut found = false;
    for id in levels.into_iter().flatten() {
        if let Some((ty, content)) = view.org.policy_content(id)
            && ty == input.policy_type
            && let Ok(Value::Object(doc)) = serde_json::from_str(content)
        {
            merge(&mut effective, doc);
            found = true;
        }
    }
    if !found {
        return Err(ServiceError::modeled(
            "EffectivePolicyNotFoundException",
            "We can't find an effective policy for the specified target.",
        ));
    }
    Ok(Outcome::output(json!({ "EffectivePolicy": {
        "PolicyContent": Value::Object(effective).to_string(),
        "LastUpdatedTimestamp": call.now.timestamp(),
        "TargetId": target,
        "PolicyType": input.policy_type,
    }})))
}

/// Merges `child` into `parent`: objects merge key by key, anything else (and
/// `@@assign` values) is replaced.
fn merge(parent: &mut Map<String, Value>, child: Map<String, Value>) {
    for (key, value) in child {
        match (parent.get_mut(&key), value) {
            (Some(Value::Object(p)), Value::Object(c)) if key != "@@assign" => merge(p, c),
            (_, value) => {
                parent.insert(key, value);
            }
        }
    }
}

fn check_root(org: &Organization, root_id: &str) -> Result<(), ServiceError> {
    if root_id == org.root_id {
        Ok(())
    } else {
        Err(ServiceError::modeled(
            "RootNotFoundException",
            "You specified a root that doesn't exist.",
        ))
    }
}

/// Checks a policy's content for its type: SCPs and RCPs in the IAM policy language
/// with their own rules and size quota, other types as JSON documents.
fn check_content(policy_type: &str, content: &str) -> Result<(), ServiceError> {
    let malformed = |message: &str| {
        ServiceError::modeled("MalformedPolicyDocumentException", message.to_owned())
    };
    match policy_type {
        SCP | RCP => {
            let ty = if policy_type == SCP {
                PolicyType::Scp
            } else {
                PolicyType::Rcp
            };
            rampart_policy::parse(content, ty)
                .map(drop)
                .map_err(|e| malformed(e.message()))
        }
        _ => match serde_json::from_str::<Value>(content) {
            Ok(Value::Object(_)) => Ok(()),
            _ => Err(malformed(
                "The provided policy document does not meet the requirements of the specified policy type.",
            )),
        },
    }
}

/// The type of a customer or AWS-managed policy.
fn policy_type_of<'v>(view: &'v View, id: &str) -> Option<&'v str> {
    view.org.policy_content(id).map(|(ty, _)| ty)
}

/// The type of a policy usable in `org`, or PolicyNotFound.
fn usable_policy_type<'v>(
    view: &'v View,
    org: &Organization,
    id: &str,
) -> Result<&'v str, ServiceError> {
    policy_type_of(view, id)
        .filter(|_| belongs(view, org, id))
        .ok_or_else(policy_not_found)
}

/// Whether a policy id is usable in `org`: an AWS-managed policy or one of its own.
fn belongs(view: &View, org: &Organization, id: &str) -> bool {
    view.org
        .policies
        .get(id)
        .map_or(AWS_POLICIES.iter().any(|p| p.0 == id), |p| {
            p.organization_id == org.id
        })
}

fn customer<'v>(
    view: &'v View,
    org: &Organization,
    id: &str,
) -> Result<&'v OrgPolicy, ServiceError> {
    if AWS_POLICIES.iter().any(|p| p.0 == id) {
        return Err(ServiceError::with_reason(
            "InvalidInputException",
            "IMMUTABLE_POLICY",
            "You specified a policy that is managed by AWS and can't be modified.",
        ));
    }
    view.org
        .policies
        .get(id)
        .filter(|p| p.organization_id == org.id)
        .ok_or_else(policy_not_found)
}

/// The policies attached to a root, OU or account id of `org`.
fn attached_to(view: &View, org: &Organization, target: &str) -> Result<Vec<String>, ServiceError> {
    if target == org.root_id {
        return Ok(org.root_policies.clone());
    }
    if target.starts_with("ou-") {
        return Ok(find_ou(view, org, target)
            .map_err(|_| target_not_found())?
            .policies
            .clone());
    }
    let account = member(view, org, target).map_err(|_| target_not_found())?;
    Ok(account
        .membership
        .as_ref()
        .map(|m| m.policies.clone())
        .unwrap_or_default())
}

/// The policies attached at one level of an account's ancestry (root or OU).
fn attached_to_level<'v>(view: &'v View, org: &'v Organization, level: &str) -> &'v [String] {
    if level == org.root_id {
        &org.root_policies
    } else {
        view.org
            .units
            .get(level)
            .map_or(&[][..], |u| u.policies.as_slice())
    }
}

/// The mutation that sets what is attached to a target.
fn set_attached(
    view: &View,
    org: &Organization,
    target: &str,
    policies: Vec<String>,
) -> Result<rampart_store::Mutation, ServiceError> {
    if target == org.root_id {
        let mut org = org.clone();
        org.root_policies = policies;
        return write_back(view, records::ORGANIZATION, &org.id, &org);
    }
    if target.starts_with("ou-") {
        let mut ou = find_ou(view, org, target)?.clone();
        ou.policies = policies;
        return write_back(view, records::ORG_UNIT, &ou.id, &ou);
    }
    let mut account = member(view, org, target)?.clone();
    if let Some(m) = account.membership.as_mut() {
        m.policies = policies;
    }
    write_back(view, records::ACCOUNT, &account.account_id, &account)
}

/// Attaches policy `id` to the root (in `org`), every OU and every account that does
/// not have it yet.
fn attach_everywhere(
    view: &View,
    org: &mut Organization,
    id: &str,
    mutations: &mut Vec<rampart_store::Mutation>,
) -> Result<(), ServiceError> {
    if !org.root_policies.iter().any(|p| p == id) {
        org.root_policies.push(id.to_owned());
    }
    for ou in units_of(view, org) {
        if !ou.policies.iter().any(|p| p == id) {
            let mut ou = ou.clone();
            ou.policies.push(id.to_owned());
            mutations.push(write_back(view, records::ORG_UNIT, &ou.id, &ou)?);
        }
    }
    for account in accounts_of(view, org) {
        let Some(m) = account.membership.as_ref() else {
            continue;
        };
        if !m.policies.iter().any(|p| p == id) {
            let mut account = account.clone();
            if let Some(m) = account.membership.as_mut() {
                m.policies.push(id.to_owned());
            }
            mutations.push(write_back(
                view,
                records::ACCOUNT,
                &account.account_id,
                &account,
            )?);
        }
    }
    // OUs and accounts made later get it from `structure::default_policies`.
    Ok(())
}

/// Every target a policy is attached to, as `PolicyTargetSummary` outputs.
fn targets_of(view: &View, org: &Organization, id: &str) -> Vec<Value> {
    let mut targets = Vec::new();
    if org.root_policies.iter().any(|p| p == id) {
        targets.push(
            json!({"TargetId": org.root_id, "Name": "Root", "Type": "ROOT",
            "Arn": arn(org, &format!("root/{}/{}", org.id, org.root_id))}),
        );
    }
    for ou in units_of(view, org).filter(|u| u.policies.iter().any(|p| p == id)) {
        targets.push(
            json!({"TargetId": ou.id, "Name": ou.name, "Type": "ORGANIZATIONAL_UNIT",
            "Arn": arn(org, &format!("ou/{}/{}", org.id, ou.id))}),
        );
    }
    for account in accounts_of(view, org) {
        if account
            .membership
            .as_ref()
            .is_some_and(|m| m.policies.iter().any(|p| p == id))
        {
            targets.push(json!({"TargetId": account.account_id, "Name": account.name,
                "Type": "ACCOUNT",
                "Arn": arn(org, &format!("account/{}/{}", org.id, account.account_id))}));
        }
    }
    targets
}

fn summary(view: &View, org: &Organization, id: &str) -> Option<Value> {
    let policy = match view.org.policies.get(id) {
        Some(p) => policy_output(org, p),
        None => aws_policy_output(id)?,
    };
    Some(policy["PolicySummary"].clone())
}

fn policy_output(org: &Organization, policy: &OrgPolicy) -> Value {
    json!({
        "PolicySummary": {
            "Id": policy.id,
            "Arn": arn(org, &format!("policy/{}/{}/{}", org.id,
                policy.policy_type.to_ascii_lowercase(), policy.id)),
            "Name": policy.name,
            "Description": policy.description,
            "Type": policy.policy_type,
            "AwsManaged": false,
        },
        "Content": policy.content,
    })
}

fn aws_policy_output(id: &str) -> Option<Value> {
    let (id, name, policy_type, description, content) = AWS_POLICIES.iter().find(|p| p.0 == id)?;
    Some(json!({
        "PolicySummary": {
            "Id": id,
            "Arn": format!("arn:aws:organizations::aws:policy/{}/{id}",
                policy_type.to_ascii_lowercase()),
            "Name": name,
            "Description": description,
            "Type": policy_type,
            "AwsManaged": true,
        },
        "Content": content,
    }))
}

/// One page of `items` as `list_member`, ordered by their `id_member`.
fn page_by(
    paging: &TokenPaging,
    mut items: Vec<Value>,
    id_member: &str,
    list_member: &str,
) -> Result<Outcome, ServiceError> {
    let id = |v: &Value| v[id_member].as_str().unwrap_or_default().to_owned();
    items.sort_by_key(id);
    Ok(Outcome::output(paging.page(
        &items,
        id,
        list_member,
        Value::clone,
    )?))
}

fn policy_not_found() -> ServiceError {
    ServiceError::modeled(
        "PolicyNotFoundException",
        "You specified a policy that doesn't exist.",
    )
}

fn not_enabled() -> ServiceError {
    ServiceError::modeled(
        "PolicyTypeNotEnabledException",
        "This operation can be performed only for enabled policy types.",
    )
}
