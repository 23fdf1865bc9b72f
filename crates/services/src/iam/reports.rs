//! IAM's account-wide reports: the credential report, the account summary, the
//! account authorization details, and service last accessed details.
//!
//! Everything but the last-used data comes from the view. When an access key was
//! last used, and which services an identity used, come from the audit trail: these
//! are reporting operations, so they read the store (asynchronously, like
//! CloudTrail's LookupEvents); nothing on the authorization path does.

use std::collections::{BTreeMap, BTreeSet};

use base64::Engine;
use chrono::{DateTime, Utc};
use rampart_store::{AuditQuery, LookupAttribute, Mutation, StoredAuditEvent};
use serde::Deserialize;
use serde_json::{Value, json};

use super::entity::{boundary_output, instance_profile_output};
use super::paging::Paging;
use super::{encode_document, no_such_entity};
use crate::aws_managed;
use crate::call::{Call, Outcome, to_canonical};
use crate::error::ServiceError;
use crate::records::{self, AccessDetailsJob, CredentialReport, Permissions, ServiceAccess};
use crate::view::{Holder, View};

/// A credential report is reused for this long; older ones have expired.
const REPORT_LIFETIME: i64 = 4 * 3600;

/// The columns of the credential report, in AWS's order.
const REPORT_COLUMNS: [&str; 22] = [
    "user",
    "arn",
    "user_creation_time",
    "password_enabled",
    "password_last_used",
    "password_last_changed",
    "password_next_rotation",
    "mfa_active",
    "access_key_1_active",
    "access_key_1_last_rotated",
    "access_key_1_last_used_date",
    "access_key_1_last_used_region",
    "access_key_1_last_used_service",
    "access_key_2_active",
    "access_key_2_last_rotated",
    "access_key_2_last_used_date",
    "access_key_2_last_used_region",
    "access_key_2_last_used_service",
    "cert_1_active",
    "cert_1_last_rotated",
    "cert_2_active",
    "cert_2_last_rotated",
];

/// A time as the credential report writes it: `2015-06-17T19:11:50+00:00`.
fn report_time(seconds: i64) -> String {
    DateTime::<Utc>::from_timestamp(seconds, 0)
        .unwrap_or_default()
        .format("%Y-%m-%dT%H:%M:%S+00:00")
        .to_string()
}

/// One access key as the report shows it.
struct KeyRow {
    id: String,
    active: bool,
    created: i64,
}

/// What the report shows of one user, read from the view.
struct UserRow {
    name: String,
    arn: String,
    created: i64,
    /// When the password was last changed, if the user has one.
    password_changed: Option<i64>,
    max_password_age: Option<i64>,
    mfa_active: bool,
    keys: Vec<KeyRow>,
}

/// When an access key was last used: time, region, service.
pub(super) async fn key_last_used(
    call: &Call<'_>,
    key_id: &str,
) -> Result<Option<(i64, String, String)>, ServiceError> {
    let mut query = AuditQuery::new(call.caller.account_id.clone());
    query.lookup = Some((LookupAttribute::AccessKeyId, key_id.to_owned()));
    query.max_results = 1;
    let page = crate::audit::lookup(call, query).await?;
    Ok(page.events.into_iter().next().map(|stored| {
        let e = stored.event;
        let region = e.record["awsRegion"].as_str().unwrap_or("N/A").to_owned();
        let service = e
            .event_source
            .strip_suffix(".amazonaws.com")
            .unwrap_or(&e.event_source)
            .to_owned();
        (e.event_time.timestamp(), region, service)
    }))
}

pub async fn generate_credential_report(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let account = call.caller.account_id.clone();
    let now = call.now.timestamp();
    let (rows, account_created, root_mfa) = {
        let view = call.plane.view();
        if let Some(report) = view.credential_reports.get(&account)
            && now - report.generated < REPORT_LIFETIME
        {
            return Ok(Outcome::output(json!({ "State": "COMPLETE" })));
        }
        let created = view.accounts.get(&account).map_or(0, |a| a.created);
        (
            user_rows(&view, &account),
            created,
            root_mfa_active(&view, &account),
        )
    };
    let mut csv = String::new();
    csv.push_str(&REPORT_COLUMNS.join(","));
    csv.push('\n');
    let root = [
        "<root_account>".to_owned(),
        format!("arn:aws:iam::{account}:root"),
        report_time(account_created),
        "not_supported".to_owned(),
        "no_information".to_owned(),
        "not_supported".to_owned(),
        "not_supported".to_owned(),
        root_mfa.to_string(),
    ];
    csv.push_str(&root.join(","));
    csv.push_str(",false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A\n");
    for user in rows {
        let mut fields = vec![
            csv_field(&user.name),
            user.arn.clone(),
            report_time(user.created),
        ];
        match user.password_changed {
            Some(changed) => {
                fields.push("true".to_owned());
                fields.push("no_information".to_owned());
                fields.push(report_time(changed));
                fields.push(match user.max_password_age {
                    Some(days) => report_time(changed + days * 86_400),
                    None => "N/A".to_owned(),
                });
            }
            None => fields.extend(["false", "N/A", "N/A", "N/A"].map(str::to_owned)),
        }
        fields.push(user.mfa_active.to_string());
        for slot in 0..2 {
            match user.keys.get(slot) {
                Some(key) => {
                    fields.push(key.active.to_string());
                    fields.push(report_time(key.created));
                    match key_last_used(call, &key.id).await? {
                        Some((at, region, service)) => {
                            fields.extend([report_time(at), region, service]);
                        }
                        None => fields.extend(["N/A", "N/A", "N/A"].map(str::to_owned)),
                    }
                }
                None => fields.extend(["false", "N/A", "N/A", "N/A", "N/A"].map(str::to_owned)),
            }
        }
        fields.extend(["false", "N/A", "false", "N/A"].map(str::to_owned));
        csv.push_str(&fields.join(","));
        csv.push('\n');
    }
    let report = CredentialReport {
        account_id: account.clone(),
        generated: now,
        content: csv,
    };
    let mutation = Mutation::Put {
        kind: records::IAM_CREDENTIAL_REPORT.to_owned(),
        id: account,
        value: to_canonical(&report)?,
        expect: rampart_store::Expect::Any,
    };
    Ok(Outcome {
        output: json!({
            "State": "STARTED",
            "Description": "No report exists. Starting a new report generation task",
        }),
        mutations: vec![mutation],
    })
}

/// User names are `[\w+=,.@-]+`: only a comma needs quoting.
fn csv_field(text: &str) -> String {
    if text.contains([',', '"', '\n']) {
        format!("\"{}\"", text.replace('"', "\"\""))
    } else {
        text.to_owned()
    }
}

fn root_mfa_active(view: &View, account: &str) -> bool {
    view.mfa_devices.values().any(|e| {
        e.device.account_id == account && e.device.user_name.is_none() && e.device.enabled.is_some()
    })
}

/// The users of `account` by creation, as the report lists them.
fn user_rows(view: &View, account: &str) -> Vec<UserRow> {
    let max_password_age = view
        .password_policies
        .get(account)
        .and_then(|p| p.max_password_age);
    let mut users: Vec<&records::User> = view
        .users
        .values()
        .filter(|u| u.account_id == account)
        .collect();
    users.sort_by(|a, b| (a.created, &a.user_name).cmp(&(b.created, &b.user_name)));
    users
        .into_iter()
        .map(|user| {
            let id = records::user_id(account, &user.user_name);
            let mut keys: Vec<KeyRow> = view
                .access_keys
                .values()
                .map(|e| &e.key)
                .filter(|k| {
                    k.account_id == account && k.user_name.eq_ignore_ascii_case(&user.user_name)
                })
                .map(|k| KeyRow {
                    id: k.access_key_id.clone(),
                    active: k.status == records::KeyStatus::Active,
                    created: k.created,
                })
                .collect();
            keys.sort_by(|a, b| (a.created, &a.id).cmp(&(b.created, &b.id)));
            let mfa_active = view.mfa_devices.values().any(|e| {
                e.device.account_id == account
                    && e.device.enabled.is_some()
                    && e.device
                        .user_name
                        .as_deref()
                        .is_some_and(|n| n.eq_ignore_ascii_case(&user.user_name))
            });
            UserRow {
                name: user.user_name.clone(),
                arn: user.arn(),
                created: user.created,
                password_changed: view.login_profiles.get(&id).map(|p| p.password_changed),
                max_password_age,
                mfa_active,
                keys,
            }
        })
        .collect()
}

pub fn get_credential_report(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let report = view
        .credential_reports
        .get(&call.caller.account_id)
        .ok_or_else(|| {
            ServiceError::modeled(
                "ReportNotPresent",
                "The credential report does not exist. To generate a credential report, use GenerateCredentialReport.",
            )
        })?;
    if call.now.timestamp() - report.generated >= REPORT_LIFETIME {
        return Err(ServiceError::modeled(
            "ReportExpired",
            "The credential report has expired. To generate a new credential report, use GenerateCredentialReport.",
        ));
    }
    Ok(Outcome::output(json!({
        "Content": base64::engine::general_purpose::STANDARD.encode(report.content.as_bytes()),
        "ReportFormat": "text/csv",
        "GeneratedTime": report.generated,
    })))
}

/// How many holders of `account` attach `arn` (AWS-managed ARNs are shared by every
/// account) and how many use it as their boundary.
fn usage_in(view: &View, account: &str, arn: &str) -> (usize, usize) {
    let prefix = format!("{account}/");
    let of_account = |h: &&Holder| match h {
        Holder::User(id) | Holder::Group(id) | Holder::Role(id) => id.starts_with(&prefix),
    };
    let count = |index: &std::collections::HashMap<String, BTreeSet<Holder>>| {
        index
            .get(arn)
            .map_or(0, |holders| holders.iter().filter(of_account).count())
    };
    (
        count(&view.identity.attached_by),
        count(&view.identity.bounding),
    )
}

pub fn get_account_summary(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = call.caller.account_id.as_str();
    let users = view
        .users
        .values()
        .filter(|u| u.account_id == account)
        .count();
    let groups = view
        .groups
        .values()
        .filter(|g| g.account_id == account)
        .count();
    let roles = view
        .roles
        .values()
        .filter(|r| r.account_id == account)
        .count();
    let policies: Vec<&records::ManagedPolicy> = view
        .policies
        .values()
        .filter(|p| p.account_id == account)
        .collect();
    let versions_in_use: usize = policies.iter().map(|p| p.versions.len()).sum();
    let profiles = view
        .instance_profiles
        .values()
        .filter(|p| p.account_id == account)
        .count();
    let devices: Vec<&records::MfaDevice> = view
        .mfa_devices
        .values()
        .map(|e| &e.device)
        .filter(|d| d.account_id == account)
        .collect();
    let in_use = devices.iter().filter(|d| d.enabled.is_some()).count();
    let providers = view
        .oidc_providers
        .values()
        .filter(|p| p.account_id == account)
        .count()
        + view
            .saml_providers
            .values()
            .filter(|p| p.account_id == account)
            .count();
    let summary = json!({
        "Users": users,
        "UsersQuota": 5000,
        "Groups": groups,
        "GroupsQuota": 300,
        "Roles": roles,
        "RolesQuota": 1000,
        "Policies": policies.len(),
        "PoliciesQuota": 1500,
        "PolicySizeQuota": 6144,
        "PolicyVersionsInUse": versions_in_use,
        "PolicyVersionsInUseQuota": 10000,
        "VersionsPerPolicyQuota": 5,
        "InstanceProfiles": profiles,
        "InstanceProfilesQuota": 1000,
        "ServerCertificates": 0,
        "ServerCertificatesQuota": 20,
        "UserPolicySizeQuota": 2048,
        "GroupPolicySizeQuota": 5120,
        "RolePolicySizeQuota": 10240,
        "AssumeRolePolicySizeQuota": 2048,
        "GroupsPerUserQuota": 10,
        "SigningCertificatesPerUserQuota": 2,
        "AccessKeysPerUserQuota": 2,
        "AttachedPoliciesPerUserQuota": 10,
        "AttachedPoliciesPerGroupQuota": 10,
        "AttachedPoliciesPerRoleQuota": 10,
        "MFADevices": devices.len(),
        "MFADevicesInUse": in_use,
        "AccountMFAEnabled": i32::from(root_mfa_active(&view, account)),
        "AccountAccessKeysPresent": 0,
        "AccountPasswordPresent": 0,
        "AccountSigningCertificatesPresent": 0,
        "Providers": providers,
        "GlobalEndpointTokenVersion": 1,
    });
    Ok(Outcome::output(json!({ "SummaryMap": summary })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AuthorizationDetailsInput {
    #[serde(default)]
    filter: Vec<String>,
    #[serde(flatten)]
    paging: Paging,
}

/// The inline policies of a holder as `PolicyDetail`s.
fn policy_details(p: &Permissions) -> Vec<Value> {
    p.inline_policies
        .iter()
        .map(|(name, doc)| json!({"PolicyName": name, "PolicyDocument": encode_document(doc)}))
        .collect()
}

/// The managed policies a holder attaches as `AttachedPolicy`s.
fn attached(p: &Permissions) -> Vec<Value> {
    p.attached_policies
        .iter()
        .map(|arn| {
            let name = arn.rsplit('/').next().unwrap_or(arn);
            json!({"PolicyName": name, "PolicyArn": arn})
        })
        .collect()
}

/// The list member each entity type goes to.
const LISTS: [(&str, &str); 5] = [
    ("User", "UserDetailList"),
    ("Group", "GroupDetailList"),
    ("Role", "RoleDetailList"),
    ("LocalManagedPolicy", "Policies"),
    ("AWSManagedPolicy", "Policies"),
];

pub fn get_account_authorization_details(
    call: &Call<'_>,
    input: AuthorizationDetailsInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = call.caller.account_id.as_str();
    let wanted = |ty: &str| input.filter.is_empty() || input.filter.iter().any(|f| f == ty);
    // (sort key, list member, detail), in AWS's order: users, groups, roles, policies.
    let mut items: Vec<(String, &str, Value)> = Vec::new();
    if wanted("User") {
        for user in view.users.values().filter(|u| u.account_id == account) {
            let mut d = json!({
                "Path": user.path, "UserName": user.user_name, "UserId": user.user_id,
                "Arn": user.arn(), "CreateDate": user.created,
                "UserPolicyList": policy_details(&user.permissions),
                "GroupList": user.groups,
                "AttachedManagedPolicies": attached(&user.permissions),
                "Tags": user.tags,
            });
            if let Some(b) = boundary_output(user.permissions_boundary.as_ref()) {
                d["PermissionsBoundary"] = b;
            }
            items.push((
                format!("0{}", user.user_name.to_ascii_lowercase()),
                "UserDetailList",
                d,
            ));
        }
    }
    if wanted("Group") {
        for group in view.groups.values().filter(|g| g.account_id == account) {
            let d = json!({
                "Path": group.path, "GroupName": group.group_name, "GroupId": group.group_id,
                "Arn": group.arn(), "CreateDate": group.created,
                "GroupPolicyList": policy_details(&group.permissions),
                "AttachedManagedPolicies": attached(&group.permissions),
            });
            items.push((
                format!("1{}", group.group_name.to_ascii_lowercase()),
                "GroupDetailList",
                d,
            ));
        }
    }
    if wanted("Role") {
        for role in view.roles.values().filter(|r| r.account_id == account) {
            let profiles: Vec<Value> = view
                .instance_profiles
                .values()
                .filter(|p| {
                    p.account_id == account
                        && p.roles
                            .iter()
                            .any(|r| r.eq_ignore_ascii_case(&role.role_name))
                })
                .map(|p| instance_profile_output(&view, p))
                .collect();
            let mut d = json!({
                "Path": role.path, "RoleName": role.role_name, "RoleId": role.role_id,
                "Arn": role.arn(), "CreateDate": role.created,
                "AssumeRolePolicyDocument": encode_document(&role.assume_role_policy),
                "InstanceProfileList": profiles,
                "RolePolicyList": policy_details(&role.permissions),
                "AttachedManagedPolicies": attached(&role.permissions),
                "Tags": role.tags,
                "RoleLastUsed": match &role.last_used {
                    Some((at, region)) => json!({"LastUsedDate": at, "Region": region}),
                    None => json!({}),
                },
            });
            if let Some(b) = boundary_output(role.permissions_boundary.as_ref()) {
                d["PermissionsBoundary"] = b;
            }
            items.push((
                format!("2{}", role.role_name.to_ascii_lowercase()),
                "RoleDetailList",
                d,
            ));
        }
    }
    if wanted("LocalManagedPolicy") {
        for policy in view.policies.values().filter(|p| p.account_id == account) {
            let arn = policy.arn();
            let (attachments, boundaries) = usage_in(&view, account, &arn);
            let versions: Vec<Value> = policy
                .versions
                .iter()
                .map(|v| {
                    json!({
                        "Document": encode_document(&v.document), "VersionId": v.version_id,
                        "IsDefaultVersion": v.version_id == policy.default_version,
                        "CreateDate": v.created,
                    })
                })
                .collect();
            let mut d = json!({
                "PolicyName": policy.policy_name, "PolicyId": policy.policy_id, "Arn": arn,
                "Path": policy.path, "DefaultVersionId": policy.default_version,
                "AttachmentCount": attachments, "PermissionsBoundaryUsageCount": boundaries,
                "IsAttachable": true, "CreateDate": policy.created, "UpdateDate": policy.updated,
                "PolicyVersionList": versions,
            });
            if let Some(description) = &policy.description {
                d["Description"] = json!(description);
            }
            items.push((
                format!("3{}", policy.policy_name.to_ascii_lowercase()),
                "Policies",
                d,
            ));
        }
    }
    if wanted("AWSManagedPolicy") {
        // As AWS does, only the AWS-managed policies the account uses.
        for arn in aws_managed::arns() {
            let (attachments, boundaries) = usage_in(&view, account, arn);
            if attachments + boundaries == 0 {
                continue;
            }
            let name = arn.rsplit('/').next().unwrap_or(arn);
            let d = json!({
                "PolicyName": name, "PolicyId": aws_managed::policy_id(arn), "Arn": arn,
                "Path": "/", "DefaultVersionId": "v1",
                "AttachmentCount": attachments, "PermissionsBoundaryUsageCount": boundaries,
                "IsAttachable": true, "Description": aws_managed::description(arn),
                "CreateDate": aws_managed::CREATED, "UpdateDate": aws_managed::CREATED,
                "PolicyVersionList": [{
                    "Document": encode_document(aws_managed::document(arn).unwrap_or("")),
                    "VersionId": "v1", "IsDefaultVersion": true, "CreateDate": aws_managed::CREATED,
                }],
            });
            items.push((format!("4{}", name.to_ascii_lowercase()), "Policies", d));
        }
    }
    items.sort_by(|a, b| a.0.cmp(&b.0));
    let page = input.paging.page(
        &items,
        |(key, _, _)| key.clone(),
        "Items",
        |(_, list, detail)| json!({"list": list, "detail": detail}),
    )?;
    let mut out = json!({});
    for (_, list) in LISTS {
        out[list] = json!([]);
    }
    for item in page["Items"].as_array().into_iter().flatten() {
        let list = item["list"].as_str().unwrap_or_default();
        if let Some(array) = out.get_mut(list).and_then(Value::as_array_mut) {
            array.push(item["detail"].clone());
        }
    }
    out["IsTruncated"] = page["IsTruncated"].clone();
    if let Some(marker) = page.get("Marker") {
        out["Marker"] = marker.clone();
    }
    Ok(Outcome::output(out))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GenerateAccessDetailsInput {
    arn: String,
    granularity: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetAccessDetailsInput {
    job_id: String,
    #[serde(flatten)]
    paging: Paging,
}

/// When a service was last used: time, entity ARN, region.
type LastAccess = (i64, String, String);

/// How many audit events a service last accessed report reads at most.
const MAX_EVENTS_READ: usize = 10_000;

/// Whom a report is about: the identities whose calls count, and the policies that
/// say which services they may use.
struct Subject {
    /// ARNs of the users and roles whose calls count.
    entities: BTreeSet<String>,
    policies: Vec<String>,
}

fn subject(view: &View, account: &str, arn: &str) -> Result<Subject, ServiceError> {
    let invalid = || ServiceError::modeled("InvalidInput", format!("Invalid ARN: {arn}"));
    let (arn_account, resource) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(':'))
        .ok_or_else(invalid)?;
    let (kind, rest) = resource.split_once('/').ok_or_else(invalid)?;
    let name = rest.rsplit('/').next().unwrap_or("");
    let id = records::entity_id(arn_account, name);
    let own = arn_account == account;
    let docs = |p: &Permissions| -> Vec<String> {
        let mut out: Vec<String> = p.inline_policies.values().cloned().collect();
        out.extend(
            p.attached_policies
                .iter()
                .filter_map(|a| managed_document(view, a)),
        );
        out
    };
    let missing = || no_such_entity(format!("The entity {arn} does not exist."));
    match kind {
        "user" => {
            let user = view
                .users
                .get(&id)
                .filter(|u| own && u.arn() == arn)
                .ok_or_else(missing)?;
            let mut policies = docs(&user.permissions);
            for g in &user.groups {
                if let Some(group) = view.groups.get(&records::entity_id(account, g)) {
                    policies.extend(docs(&group.permissions));
                }
            }
            Ok(Subject {
                entities: [user.arn()].into(),
                policies,
            })
        }
        "group" => {
            let group = view
                .groups
                .get(&id)
                .filter(|g| own && g.arn() == arn)
                .ok_or_else(missing)?;
            let entities = view
                .users
                .values()
                .filter(|u| u.account_id == account && u.in_group(&group.group_name))
                .map(records::User::arn)
                .collect();
            Ok(Subject {
                entities,
                policies: docs(&group.permissions),
            })
        }
        "role" => {
            let role = view
                .roles
                .get(&id)
                .filter(|r| own && r.arn() == arn)
                .ok_or_else(missing)?;
            Ok(Subject {
                entities: [role.arn()].into(),
                policies: docs(&role.permissions),
            })
        }
        "policy" => {
            let document = managed_document(view, arn).ok_or_else(missing)?;
            let mut entities = BTreeSet::new();
            let holders = view.identity.attached_by.get(arn).into_iter().flatten();
            for holder in holders {
                match holder {
                    Holder::User(id) => entities.extend(
                        view.users
                            .get(id)
                            .filter(|u| u.account_id == account)
                            .map(records::User::arn),
                    ),
                    Holder::Role(id) => entities.extend(
                        view.roles
                            .get(id)
                            .filter(|r| r.account_id == account)
                            .map(records::Role::arn),
                    ),
                    Holder::Group(id) => {
                        if let Some(group) = view.groups.get(id).filter(|g| g.account_id == account)
                        {
                            entities.extend(
                                view.users
                                    .values()
                                    .filter(|u| {
                                        u.account_id == account && u.in_group(&group.group_name)
                                    })
                                    .map(records::User::arn),
                            );
                        }
                    }
                }
            }
            Ok(Subject {
                entities,
                policies: vec![document],
            })
        }
        _ => Err(invalid()),
    }
}

fn managed_document(view: &View, arn: &str) -> Option<String> {
    if let Some(doc) = aws_managed::document(arn) {
        return Some(doc.to_owned());
    }
    Some(view.policy_by_arn(arn)?.default()?.document.clone())
}

/// The service prefixes `documents` allow actions of (`*` and `service:*`-style
/// wildcards included), with the names AWS gives them.
fn granted_services(documents: &[String]) -> BTreeMap<String, String> {
    let catalog = rampart_policy::catalog::catalog();
    let mut out = BTreeMap::new();
    for doc in documents {
        let Ok(policy) = rampart_policy::parse(doc, rampart_policy::PolicyType::Identity) else {
            continue;
        };
        for statement in &policy.statements {
            if statement.effect != rampart_policy::Effect::Allow {
                continue;
            }
            for action in &statement.actions {
                let prefix = action.split(':').next().unwrap_or("").to_ascii_lowercase();
                for service in catalog.services() {
                    let matches = statement.not_action
                        || rampart_policy::wildcard_match(&prefix, &service.prefix);
                    if matches {
                        out.insert(service.prefix.clone(), service.name.clone());
                    }
                }
            }
        }
    }
    out
}

/// The ARN of the identity an audit event's caller acts as: the user, or the role of
/// a role session.
fn event_entity(event: &StoredAuditEvent) -> Option<String> {
    let identity = &event.event.record["userIdentity"];
    let arn = identity["arn"].as_str()?;
    match identity["type"].as_str()? {
        "IAMUser" => Some(arn.to_owned()),
        "AssumedRole" => {
            let (account, rest) = arn.strip_prefix("arn:aws:sts::")?.split_once(':')?;
            let role = rest.strip_prefix("assumed-role/")?.rsplit_once('/')?.0;
            Some(format!("arn:aws:iam::{account}:role/{role}"))
        }
        _ => None,
    }
}

pub async fn generate_service_last_accessed(
    call: &Call<'_>,
    input: GenerateAccessDetailsInput,
) -> Result<Outcome, ServiceError> {
    let account = call.caller.account_id.clone();
    let granularity = input
        .granularity
        .unwrap_or_else(|| "SERVICE_LEVEL".to_owned());
    let (subject, role_paths) = {
        let view = call.plane.view();
        let subject = subject(&view, &account, &input.arn)?;
        // Role sessions name the role without its path; map them back.
        let role_paths: BTreeMap<String, String> = view
            .roles
            .values()
            .filter(|r| r.account_id == account)
            .map(|r| {
                (
                    format!("arn:aws:iam::{account}:role/{}", r.role_name),
                    r.arn(),
                )
            })
            .collect();
        (subject, role_paths)
    };
    let services = granted_services(&subject.policies);
    // (last time, entity, region) and the entities seen, per service prefix.
    let mut seen: BTreeMap<String, (LastAccess, BTreeSet<String>)> = BTreeMap::new();
    let mut query = AuditQuery::new(account.clone());
    query.end = Some(call.now);
    let mut read = 0usize;
    loop {
        let page = crate::audit::lookup(call, query.clone()).await?;
        read += page.events.len();
        for event in &page.events {
            let Some(entity) = event_entity(event) else {
                continue;
            };
            let entity = role_paths.get(&entity).cloned().unwrap_or(entity);
            if !subject.entities.contains(&entity) {
                continue;
            }
            let e = &event.event;
            let prefix = e
                .event_source
                .strip_suffix(".amazonaws.com")
                .unwrap_or(&e.event_source);
            if !services.contains_key(prefix) {
                continue;
            }
            let at = e.event_time.timestamp();
            let region = e.record["awsRegion"].as_str().unwrap_or("").to_owned();
            let slot = seen
                .entry(prefix.to_owned())
                .or_insert_with(|| ((at, entity.clone(), region.clone()), BTreeSet::new()));
            if at > slot.0.0 {
                slot.0 = (at, entity.clone(), region);
            }
            slot.1.insert(entity);
        }
        match page.next_token {
            Some(token) if read < MAX_EVENTS_READ => query.next_token = Some(token),
            _ => break,
        }
    }
    let services = services
        .into_iter()
        .map(|(prefix, name)| {
            let used = seen.remove(&prefix);
            ServiceAccess {
                service_name: name,
                service_namespace: prefix,
                total_authenticated_entities: used.as_ref().map_or(0, |u| u.1.len() as i64),
                last_authenticated: used.map(|u| u.0),
            }
        })
        .collect();
    let job_id = uuid::Uuid::new_v4().to_string();
    let job = AccessDetailsJob {
        job_id: job_id.clone(),
        account_id: account,
        arn: input.arn,
        granularity,
        created: call.now.timestamp(),
        completed: call.now.timestamp(),
        services,
    };
    Ok(Outcome {
        output: json!({ "JobId": job_id }),
        mutations: vec![Mutation::Put {
            kind: records::IAM_ACCESS_DETAILS_JOB.to_owned(),
            id: job_id,
            value: to_canonical(&job)?,
            expect: rampart_store::Expect::Any,
        }],
    })
}

pub fn get_service_last_accessed(
    call: &Call<'_>,
    input: GetAccessDetailsInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let job = view
        .access_details_jobs
        .get(&input.job_id)
        .filter(|j| j.account_id == call.caller.account_id)
        .ok_or_else(|| {
            no_such_entity(format!("The job with id {} cannot be found.", input.job_id))
        })?;
    let mut page = input.paging.page(
        &job.services,
        |s| s.service_namespace.clone(),
        "ServicesLastAccessed",
        |s| {
            let mut out = json!({
                "ServiceName": s.service_name,
                "ServiceNamespace": s.service_namespace,
                "TotalAuthenticatedEntities": s.total_authenticated_entities,
            });
            if let Some((at, entity, region)) = &s.last_authenticated {
                out["LastAuthenticated"] = json!(at);
                out["LastAuthenticatedEntity"] = json!(entity);
                out["LastAuthenticatedRegion"] = json!(region);
            }
            out
        },
    )?;
    page["JobStatus"] = json!("COMPLETED");
    page["JobType"] = json!(job.granularity);
    page["JobCreationDate"] = json!(job.created);
    page["JobCompletionDate"] = json!(job.completed);
    Ok(Outcome::output(page))
}
