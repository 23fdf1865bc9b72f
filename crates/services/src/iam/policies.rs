//! Managed policies: customer managed policies with their versions (at most five, one
//! of them the default that is evaluated), and the AWS-managed policies, which every
//! account sees and none can change.

use rampart_policy::PolicyType;
use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::paging::Paging;
use super::{already_exists, check_count, check_document, delete_conflict, encode_document};
use crate::aws_managed;
use crate::call::{Call, Outcome, to_canonical};
use crate::error::ServiceError;
use crate::ids::{self, IdPrefix};
use crate::records::{self, ManagedPolicy, PolicyVersion, Tag};
use crate::view::{Holder, View};

/// AWS's quotas.
const POLICIES_PER_ACCOUNT: usize = 1500;
const VERSIONS_PER_POLICY: usize = 5;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    policy_name: String,
    path: Option<String>,
    policy_document: String,
    description: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyInput {
    policy_arn: String,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    scope: Option<String>,
    #[serde(default)]
    only_attached: bool,
    path_prefix: Option<String>,
    policy_usage_filter: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateVersionInput {
    policy_arn: String,
    policy_document: String,
    #[serde(default)]
    set_as_default: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct VersionInput {
    policy_arn: String,
    version_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EntitiesInput {
    policy_arn: String,
    entity_filter: Option<String>,
    path_prefix: Option<String>,
    policy_usage_filter: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    policy_arn: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagInput {
    policy_arn: String,
    tag_keys: Vec<String>,
}

pub fn create(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let account = &call.caller.account_id;
    let view = call.plane.view();
    let id = records::entity_id(account, &input.policy_name);
    if view.policies.contains_key(&id) {
        return Err(already_exists(format!(
            "A policy called {} already exists. Duplicate names are not allowed.",
            input.policy_name
        )));
    }
    let count = view
        .policies
        .values()
        .filter(|p| &p.account_id == account)
        .count();
    check_count(count, "PoliciesPerAccount", POLICIES_PER_ACCOUNT)?;
    check_document(&input.policy_document, PolicyType::Identity)?;
    super::tags::check_new(&input.tags)?;
    let now = call.now.timestamp();
    let policy = ManagedPolicy {
        account_id: account.clone(),
        policy_name: input.policy_name,
        policy_id: ids::new_id(IdPrefix::Policy),
        path: input.path.unwrap_or_else(|| "/".to_owned()),
        description: input.description,
        created: now,
        updated: now,
        default_version: "v1".to_owned(),
        next_version: 2,
        versions: vec![PolicyVersion {
            version_id: "v1".to_owned(),
            document: input.policy_document,
            created: now,
        }],
        tags: input.tags,
    };
    Ok(Outcome {
        output: json!({ "Policy": customer_output(&view, &policy) }),
        mutations: vec![store(&policy, Expect::Absent)?],
    })
}

pub fn get(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let output = match view.policy_by_arn(&input.policy_arn) {
        Some(policy) => customer_output(&view, policy),
        None => aws_output(&view, &input.policy_arn).ok_or_else(|| missing(&input.policy_arn))?,
    };
    Ok(Outcome::output(json!({ "Policy": output })))
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let scope = input.scope.as_deref().unwrap_or("All");
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let mut policies: Vec<(String, Value)> = Vec::new();
    if scope != "AWS" {
        policies.extend(
            view.policies
                .values()
                .filter(|p| &p.account_id == account && p.path.starts_with(prefix))
                .map(|p| (p.policy_name.clone(), customer_output(&view, p))),
        );
    }
    if scope != "Local" {
        policies.extend(
            aws_managed::arns()
                .filter_map(|arn| aws_output(&view, arn))
                .filter(|p| {
                    p["Path"]
                        .as_str()
                        .is_some_and(|path| path.starts_with(prefix))
                })
                .map(|p| (p["PolicyName"].as_str().unwrap_or_default().to_owned(), p)),
        );
    }
    policies.retain(|(_, p)| {
        let attachments = p["AttachmentCount"].as_u64().unwrap_or(0);
        let boundaries = p["PermissionsBoundaryUsageCount"].as_u64().unwrap_or(0);
        !input.only_attached
            || match input.policy_usage_filter.as_deref() {
                Some("PermissionsBoundary") => boundaries > 0,
                Some("PermissionsPolicy") => attachments > 0,
                _ => attachments > 0 || boundaries > 0,
            }
    });
    policies.sort_by_cached_key(|(name, _)| name.to_ascii_lowercase());
    let page = input.paging.page(
        &policies,
        |(name, _)| name.to_ascii_lowercase(),
        "Policies",
        |(_, p)| p.clone(),
    )?;
    Ok(Outcome::output(page))
}

pub fn delete(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let policy = customer(&view, call, &input.policy_arn)?;
    let arn = policy.arn();
    if view.identity.attachment_count(&arn) > 0 || view.identity.boundary_count(&arn) > 0 {
        return Err(delete_conflict(
            "Cannot delete a policy attached to entities.",
        ));
    }
    if policy.versions.len() > 1 {
        return Err(delete_conflict(
            "This policy has more than one version. Before you delete a policy, you must delete the policy's versions. The default version is deleted with the policy.",
        ));
    }
    Ok(Outcome::changed(vec![Mutation::Delete {
        kind: records::IAM_POLICY.to_owned(),
        id: records::entity_id(&policy.account_id, &policy.policy_name),
        expect: Expect::Any,
    }]))
}

pub fn create_version(call: &Call<'_>, input: CreateVersionInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut policy = customer(&view, call, &input.policy_arn)?.clone();
    if policy.versions.len() >= VERSIONS_PER_POLICY {
        return Err(ServiceError::modeled(
            "LimitExceeded",
            "A managed policy can have up to 5 versions. Before you create a new version, you must delete an existing version.",
        ));
    }
    check_document(&input.policy_document, PolicyType::Identity)?;
    let now = call.now.timestamp();
    let version = PolicyVersion {
        version_id: format!("v{}", policy.next_version),
        document: input.policy_document,
        created: now,
    };
    policy.next_version += 1;
    policy.updated = now;
    if input.set_as_default {
        policy.default_version.clone_from(&version.version_id);
    }
    let output = version_output(&policy, &version, false);
    policy.versions.push(version);
    Ok(Outcome {
        output: json!({ "PolicyVersion": output }),
        mutations: vec![view.write_back(store(&policy, Expect::Any)?)],
    })
}

pub fn get_version(call: &Call<'_>, input: VersionInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let output = match view.policy_by_arn(&input.policy_arn) {
        Some(policy) => {
            let version = find_version(policy, &input.version_id)?;
            version_output(policy, version, true)
        }
        None => {
            let document = aws_managed::document(&input.policy_arn)
                .filter(|_| input.version_id == "v1")
                .ok_or_else(|| missing_version(&input.policy_arn, &input.version_id))?;
            json!({"Document": encode_document(document), "VersionId": "v1",
                   "IsDefaultVersion": true, "CreateDate": aws_managed::CREATED})
        }
    };
    Ok(Outcome::output(json!({ "PolicyVersion": output })))
}

pub fn list_versions(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let versions: Vec<Value> = match view.policy_by_arn(&input.policy_arn) {
        Some(policy) => policy
            .versions
            .iter()
            .rev()
            .map(|v| version_output(policy, v, false))
            .collect(),
        None if aws_managed::policy(&input.policy_arn).is_some() => vec![json!({
            "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": aws_managed::CREATED,
        })],
        None => return Err(missing(&input.policy_arn)),
    };
    let page = input.paging.page(
        &versions,
        |v| v["VersionId"].as_str().unwrap_or_default().to_owned(),
        "Versions",
        Value::clone,
    )?;
    Ok(Outcome::output(page))
}

pub fn delete_version(call: &Call<'_>, input: VersionInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut policy = customer(&view, call, &input.policy_arn)?.clone();
    find_version(&policy, &input.version_id)?;
    if policy.default_version == input.version_id {
        return Err(delete_conflict(
            "Cannot delete the default version of a policy.",
        ));
    }
    policy.versions.retain(|v| v.version_id != input.version_id);
    Ok(Outcome::changed(vec![
        view.write_back(store(&policy, Expect::Any)?),
    ]))
}

pub fn set_default_version(call: &Call<'_>, input: VersionInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut policy = customer(&view, call, &input.policy_arn)?.clone();
    find_version(&policy, &input.version_id)?;
    policy.default_version = input.version_id;
    policy.updated = call.now.timestamp();
    Ok(Outcome::changed(vec![
        view.write_back(store(&policy, Expect::Any)?),
    ]))
}

/// The users, groups and roles that attach a policy (or use it as a boundary).
pub fn list_entities(call: &Call<'_>, input: EntitiesInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    if !super::permissions::exists(&view, &input.policy_arn) {
        return Err(missing(&input.policy_arn));
    }
    let empty = Default::default();
    let holders = match input.policy_usage_filter.as_deref() {
        Some("PermissionsBoundary") => view.identity.bounding.get(&input.policy_arn),
        _ => view.identity.attached_by.get(&input.policy_arn),
    }
    .unwrap_or(&empty);
    let prefix = input.path_prefix.as_deref().unwrap_or("/");
    let filter = input.entity_filter.as_deref();
    // (kind order, name, output) so that the page order is stable.
    let mut entities: Vec<(u8, String, Value)> = holders
        .iter()
        .filter_map(|h| match h {
            Holder::User(id) => view
                .users
                .get(id)
                .filter(|_| filter.is_none_or(|f| f == "User"))
                .map(|u| {
                    (
                        0,
                        u.user_name.clone(),
                        u.path.clone(),
                        json!({"UserName": u.user_name, "UserId": u.user_id}),
                    )
                }),
            Holder::Group(id) => view
                .groups
                .get(id)
                .filter(|_| filter.is_none_or(|f| f == "Group"))
                .map(|g| {
                    (
                        1,
                        g.group_name.clone(),
                        g.path.clone(),
                        json!({"GroupName": g.group_name, "GroupId": g.group_id}),
                    )
                }),
            Holder::Role(id) => view
                .roles
                .get(id)
                .filter(|_| filter.is_none_or(|f| f == "Role"))
                .map(|r| {
                    (
                        2,
                        r.role_name.clone(),
                        r.path.clone(),
                        json!({"RoleName": r.role_name, "RoleId": r.role_id}),
                    )
                }),
        })
        .filter(|(_, _, path, _)| path.starts_with(prefix))
        .map(|(kind, name, _, out)| (kind, name, out))
        .collect();
    entities.sort_by_cached_key(|(kind, name, _)| (*kind, name.to_ascii_lowercase()));
    let mut page = input.paging.page(
        &entities,
        |(kind, name, _)| format!("{kind}/{}", name.to_ascii_lowercase()),
        "Entities",
        |(kind, _, out)| json!({"kind": kind, "entity": out}),
    )?;
    let mut lists = [Vec::new(), Vec::new(), Vec::new()];
    for item in page["Entities"].as_array().into_iter().flatten() {
        let kind = item["kind"].as_u64().unwrap_or(0) as usize;
        lists[kind.min(2)].push(item["entity"].clone());
    }
    if let Some(out) = page.as_object_mut() {
        out.remove("Entities");
        let [users, groups, roles] = lists;
        out.insert("PolicyUsers".to_owned(), json!(users));
        out.insert("PolicyGroups".to_owned(), json!(groups));
        out.insert("PolicyRoles".to_owned(), json!(roles));
    }
    Ok(Outcome::output(page))
}

pub fn tag(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut policy = customer(&view, call, &input.policy_arn)?.clone();
    super::tags::merge(&mut policy.tags, input.tags)?;
    Ok(Outcome::changed(vec![
        view.write_back(store(&policy, Expect::Any)?),
    ]))
}

pub fn untag(call: &Call<'_>, input: UntagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut policy = customer(&view, call, &input.policy_arn)?.clone();
    super::tags::remove(&mut policy.tags, &input.tag_keys);
    Ok(Outcome::changed(vec![
        view.write_back(store(&policy, Expect::Any)?),
    ]))
}

pub fn list_tags(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let policy = customer(&view, call, &input.policy_arn)?;
    let page = input
        .paging
        .page(&policy.tags, |t| t.key.clone(), "Tags", |t| json!(t))?;
    Ok(Outcome::output(page))
}

/// A customer managed policy of the caller's account, or NoSuchEntity.
fn customer<'v>(
    view: &'v View,
    call: &Call<'_>,
    arn: &str,
) -> Result<&'v ManagedPolicy, ServiceError> {
    view.policy_by_arn(arn)
        .filter(|p| p.account_id == call.caller.account_id)
        .ok_or_else(|| missing(arn))
}

fn find_version<'p>(
    policy: &'p ManagedPolicy,
    version_id: &str,
) -> Result<&'p PolicyVersion, ServiceError> {
    policy
        .versions
        .iter()
        .find(|v| v.version_id == version_id)
        .ok_or_else(|| missing_version(&policy.arn(), version_id))
}

fn missing(arn: &str) -> ServiceError {
    super::no_such_entity(format!("Policy {arn} was not found."))
}

fn missing_version(arn: &str, version_id: &str) -> ServiceError {
    super::no_such_entity(format!(
        "Policy {arn} version {version_id} does not exist or is not attachable."
    ))
}

fn store(policy: &ManagedPolicy, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: records::IAM_POLICY.to_owned(),
        id: records::entity_id(&policy.account_id, &policy.policy_name),
        value: to_canonical(policy)?,
        expect,
    })
}

/// The `Policy` output of a customer managed policy.
fn customer_output(view: &View, policy: &ManagedPolicy) -> Value {
    let arn = policy.arn();
    let mut out = json!({
        "PolicyName": policy.policy_name, "PolicyId": policy.policy_id, "Arn": arn,
        "Path": policy.path, "DefaultVersionId": policy.default_version,
        "AttachmentCount": view.identity.attachment_count(&arn),
        "PermissionsBoundaryUsageCount": view.identity.boundary_count(&arn),
        "IsAttachable": true, "CreateDate": policy.created, "UpdateDate": policy.updated,
    });
    if let Some(description) = &policy.description {
        out["Description"] = json!(description);
    }
    if !policy.tags.is_empty() {
        out["Tags"] = json!(policy.tags);
    }
    out
}

/// The `Policy` output of an AWS-managed policy, if `arn` is one.
fn aws_output(view: &View, arn: &str) -> Option<Value> {
    aws_managed::policy(arn)?;
    let (_, name) = crate::view::parse_policy_arn(arn)?;
    let path = arn
        .strip_prefix("arn:aws:iam::aws:policy")
        .and_then(|r| r.strip_suffix(name))
        .unwrap_or("/");
    Some(json!({
        "PolicyName": name, "PolicyId": aws_managed::policy_id(arn), "Arn": arn, "Path": path,
        "DefaultVersionId": "v1",
        "AttachmentCount": view.identity.attachment_count(arn),
        "PermissionsBoundaryUsageCount": view.identity.boundary_count(arn),
        "IsAttachable": true, "CreateDate": aws_managed::CREATED, "UpdateDate": aws_managed::CREATED,
        "Description": aws_managed::description(arn),
    }))
}

fn version_output(policy: &ManagedPolicy, version: &PolicyVersion, with_document: bool) -> Value {
    let mut out = json!({
        "VersionId": version.version_id,
        "IsDefaultVersion": version.version_id == policy.default_version,
        "CreateDate": version.created,
    });
    if with_document {
        out["Document"] = json!(encode_document(&version.document));
    }
    out
}
