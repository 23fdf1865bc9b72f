//! Authorization: which permission each operation needs and whether the caller has
//! it, decided by the policy engine over the compiled policies in the view. Nothing
//! here reads storage.
//!
//! What an operation presents comes from the Service Authorization Reference data
//! (`rampart_policy::catalog`): the action is `service:Operation`, the resource is the
//! ARN of the action's required resource type, filled in from the input (an ARN the
//! input names, or a name and the path the entity has or will have), and the request
//! context carries the global keys plus the service keys the input supplies.

use std::sync::Arc;

use rampart_policy::{
    Context, Decision, Policies, PolicySet, Principal, PrincipalKind, Request, Resource,
    ResourcePolicyKind, Tags, catalog, evaluate,
};
use serde_json::Value;

use crate::call::Call;
use crate::caller::{Caller, PrincipalType};
use crate::error::ServiceError;
use crate::records::{self, Tag};
use crate::view::{Holder, View};

/// What an operation asks the policy engine for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `service:Operation`.
    pub action: String,
    /// The resource ARN, or `*` for actions without a resource type.
    pub resource: String,
}

/// The permission `operation` of `service` needs for this input, or `None` when AWS
/// requires none.
pub fn required(
    view: &View,
    caller: &Caller,
    service: &str,
    operation: &str,
    input: &Value,
) -> Option<Permission> {
    // AWS asks no permission for these: they answer even under an explicit deny.
    if service == "sts" && matches!(operation, "GetCallerIdentity" | "GetSessionToken") {
        return None;
    }
    // Unsigned: the handler verifies the token or assertion, then asks the role's
    // trust policy (sts_federation).
    if service == "sts"
        && matches!(
            operation,
            "AssumeRoleWithWebIdentity" | "AssumeRoleWithSAML"
        )
    {
        return None;
    }
    let action = format!("{service}:{operation}");
    let resource = resource_arn(view, caller, service, &action, input);
    Some(Permission { action, resource })
}

/// A `(type, ARN)` resource as a CloudTrail event lists it (`AWS::KMS::Key`, ...).
pub type TrailResource = (String, String);

/// Allows the call, or denies it with AWS's message. An allowed call gets the
/// resources its CloudTrail event lists ([`crate::kms::trail::resources`]; other
/// services' resources are not listed yet).
pub fn authorize(
    call: &Call<'_>,
    service: &str,
    operation: &str,
    input: &Value,
) -> Result<Vec<TrailResource>, ServiceError> {
    session_limits(call.caller, service, operation)?;
    let view = call.plane.view();
    // MFA presented in AssumeRole's input: a bad code fails the call whatever the
    // policies say (GetSessionToken, which needs no permission, checks in its handler).
    if service == "sts" && operation == "AssumeRole" {
        presented_mfa(&view, call, service, input)?;
    }
    let permission = match service {
        "kms" => crate::kms::authz::required(&view, call, operation, input),
        _ => required(&view, call.caller, service, operation, input),
    };
    let Some(permission) = permission else {
        return Ok(Vec::new());
    };
    check(&view, call, service, &permission, input)?;
    if let Some(target) = renamed_to(&view, call.caller, service, operation, input) {
        let permission = Permission {
            action: permission.action.clone(),
            resource: target,
        };
        check(&view, call, service, &permission, input)?;
    }
    Ok(match service {
        "kms" => crate::kms::trail::resources(&view, &permission),
        _ => Vec::new(),
    })
}

/// The ARN a user or group will have after UpdateUser or UpdateGroup renames or moves
/// it: IAM requires the permission on the target as well as on the source (else a
/// user allowed to update itself could take the name some trust policy names).
fn renamed_to(
    view: &View,
    caller: &Caller,
    service: &str,
    operation: &str,
    input: &Value,
) -> Option<String> {
    let (kind, name, new_name) = match (service, operation) {
        ("iam", "UpdateUser") => ("user", "UserName", "NewUserName"),
        ("iam", "UpdateGroup") => ("group", "GroupName", "NewGroupName"),
        _ => return None,
    };
    let text = |member: &str| input.get(member).and_then(Value::as_str);
    let new_path = text("NewPath");
    if new_path.is_none() && text(new_name).is_none() {
        return None;
    }
    let account = caller.account_id.as_str();
    let name = text(name).or(match (kind, caller.principal_type) {
        ("user", PrincipalType::IamUser) => caller.user_name.as_deref(),
        _ => None,
    })?;
    let id = records::entity_id(account, name);
    let path = new_path.or(match kind {
        "user" => view.users.get(&id).map(|u| u.path.as_str()),
        _ => view.groups.get(&id).map(|g| g.path.as_str()),
    });
    Some(records::entity_arn(
        account,
        kind,
        path.unwrap_or("/"),
        text(new_name).unwrap_or(name),
    ))
}

/// Allows `permission` for the caller of `call`, with the condition keys of `input`,
/// or denies it with AWS's message. Handlers use it for the extra permissions an
/// operation needs for some inputs (sts:TagSession when AssumeRole passes tags).
pub fn check(
    view: &View,
    call: &Call<'_>,
    service: &str,
    permission: &Permission,
    input: &Value,
) -> Result<(), ServiceError> {
    let decision = decide(view, call, permission, None, || {
        let mut context = request_context(call);
        add_service_keys(&mut context, service, input);
        if service == "iam" {
            add_existing_boundary(view, call.caller, &permission.action, input, &mut context);
        }
        if service == "kms" {
            crate::kms::authz::add_keys(view, call, permission, input, &mut context);
        }
        add_org_keys(view, call.caller, &permission.resource, &mut context);
        if let Ok(Some(_)) = presented_mfa(view, call, service, input) {
            context.insert("aws:MultiFactorAuthPresent", true);
            context.insert("aws:MultiFactorAuthAge", "0");
        }
        context
    });
    if decision.is_allowed()
        || crate::iam::passwords::self_service_grant(view, call.caller, permission, &decision)
        // KMS grants add permissions the policies do not give (never past an explicit deny).
        || (service == "kms"
            && decision.kind != rampart_policy::DecisionKind::ExplicitDeny
            && crate::kms::grants::allows(view, call.caller, permission, input))
    {
        Ok(())
    } else {
        Err(ServiceError::AccessDenied(decision.access_denied_message(
            &call.caller.arn,
            &permission.action,
            &permission.resource,
        )))
    }
}

/// Whether the caller could make `permission`'s call if the key it names had
/// `key_policy` as its key policy: KMS's policy lockout safety check.
pub fn allowed_under_key_policy(
    view: &View,
    call: &Call<'_>,
    permission: &Permission,
    key_policy: Arc<PolicySet>,
) -> bool {
    decide(view, call, permission, Some(key_policy), || {
        let mut context = request_context(call);
        add_org_keys(view, call.caller, &permission.resource, &mut context);
        context
    })
    .is_allowed()
}

/// Evaluates `permission` for the caller of `call` against every policy that applies,
/// with `key_policy` (when given) in place of the key's stored key policy. The
/// request's condition keys come from `context`, called only when one of those
/// policies reads them (most calls' policies have no conditions at all).
fn decide(
    view: &View,
    call: &Call<'_>,
    permission: &Permission,
    key_policy: Option<Arc<PolicySet>>,
    context: impl FnOnce() -> Context,
) -> Decision {
    let caller = call.caller;
    let principal = principal(caller);
    let resource_account = resource_account(&permission.resource, &caller.account_id);
    let mut resource = Resource::new(permission.resource.as_str(), resource_account);
    // A KMS key's key policy is the resource policy of every action on the key.
    let key = crate::kms::authz::key_of(view, permission);
    let is_key = key.is_some() || key_policy.is_some();
    let key_policy = key_policy.or_else(|| key.and_then(|k| k.policy.clone()));
    resource.tags = Tags(match key {
        Some(k) => k
            .key
            .tags
            .iter()
            .map(|t| (t.tag_key.clone(), t.tag_value.clone()))
            .collect(),
        None => resource_tags(view, &permission.resource)
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    });
    let authz = holder(caller).and_then(|h| view.identity.authz(&h));
    let session = caller.session.as_ref().and_then(|s| s.policies.clone());
    // What a principal may do to a role through STS is decided by the role's trust
    // policy as well.
    let is_trust = is_trust_action(&permission.action);
    let trust: Option<Arc<PolicySet>> = is_trust
        .then(|| view.role_by_arn(&permission.resource))
        .flatten()
        .and_then(|role| {
            view.identity
                .trust(&records::entity_id(&role.account_id, &role.role_name))
        });
    // The guardrails of the caller's organization (SCPs) and of the resource's (RCPs,
    // for the services AWS applies them to).
    let principal_org = view.org.guardrails(&caller.account_id);
    let resource_org = rcps_apply(&permission.action)
        .then(|| view.org.guardrails(resource_account))
        .flatten();
    let policies = Policies {
        scps: principal_org.as_deref().map_or(&[], |g| g.scps.as_slice()),
        is_management_account: principal_org.as_deref().is_some_and(|g| g.is_management),
        rcps: resource_org.as_deref().map_or(&[], |g| g.rcps.as_slice()),
        identity: authz.as_deref().map(|a| &*a.identity),
        boundary: authz.as_deref().and_then(|a| a.boundary.as_deref()),
        session: session.as_deref(),
        resource: trust.as_deref().or(key_policy.as_deref()),
        resource_kind: if is_trust {
            ResourcePolicyKind::Trust
        } else if is_key {
            ResourcePolicyKind::Key
        } else {
            ResourcePolicyKind::Standard
        },
        ..Policies::default()
    };
    let context = if policies.read_context() {
        context()
    } else {
        Context::new()
    };
    evaluate(
        &policies,
        &Request {
            principal: &principal,
            action: &permission.action,
            resource: &resource,
            context: &context,
        },
    )
}

/// The account that owns the resource an ARN names (`caller` for `*` and for ARNs
/// without an account, such as AWS-managed policies).
fn resource_account<'a>(arn: &'a str, caller: &'a str) -> &'a str {
    match arn.split(':').nth(4) {
        Some(account) if account.len() == 12 && account.bytes().all(|b| b.is_ascii_digit()) => {
            account
        }
        _ => caller,
    }
}

/// Whether resource control policies govern an action: AWS applies them to the
/// services it lists, of which rampart serves STS and KMS.
fn rcps_apply(action: &str) -> bool {
    const SERVICES: &[&str] = &["sts", "kms", "s3", "sqs", "secretsmanager"];
    action
        .split_once(':')
        .is_some_and(|(service, _)| SERVICES.iter().any(|s| s.eq_ignore_ascii_case(service)))
}

/// `aws:PrincipalOrgID`, `aws:PrincipalOrgPaths`, `aws:ResourceOrgID` and
/// `aws:ResourceOrgPaths`, for accounts in an organization.
fn add_org_keys(view: &View, caller: &Caller, resource: &str, context: &mut Context) {
    if let Some(org) = view.org.guardrails(&caller.account_id) {
        context.insert("aws:PrincipalOrgID", org.organization_id.as_str());
        context.insert("aws:PrincipalOrgPaths", vec![org.path.clone()]);
    }
    if let Some(org) = view
        .org
        .guardrails(resource_account(resource, &caller.account_id))
    {
        context.insert("aws:ResourceOrgID", org.organization_id.as_str());
        context.insert("aws:ResourceOrgPaths", vec![org.path.clone()]);
    }
}

/// The STS actions a role's trust policy governs.
fn is_trust_action(action: &str) -> bool {
    ["sts:AssumeRole", "sts:TagSession", "sts:SetSourceIdentity"]
        .iter()
        .any(|a| a.eq_ignore_ascii_case(action))
}

/// What temporary credentials from GetSessionToken or GetFederationToken may not do,
/// whatever the policies say (AWS's fixed rules for those sessions).
fn session_limits(caller: &Caller, service: &str, operation: &str) -> Result<(), ServiceError> {
    let Some(session) = &caller.session else {
        return Ok(());
    };
    let token_session = matches!(
        caller.principal_type,
        PrincipalType::IamUser | PrincipalType::Root | PrincipalType::FederatedUser
    );
    if service == "sts" && matches!(operation, "GetSessionToken" | "GetFederationToken") {
        return Err(ServiceError::AccessDenied(format!(
            "Cannot call {operation} with session credentials"
        )));
    }
    if token_session && service == "sts" && operation == "AssumeRole" {
        return Ok(());
    }
    if token_session && service == "iam" && session.mfa_authenticated.is_none() {
        return Err(ServiceError::InvalidClientTokenId);
    }
    Ok(())
}

/// Checks the MFA device and code an STS call presents (`SerialNumber`, `TokenCode`)
/// against the caller's enabled devices; `Ok(Some(_))` when they are good, `Ok(None)`
/// when the call presents none.
fn presented_mfa(
    view: &View,
    call: &Call<'_>,
    service: &str,
    input: &Value,
) -> Result<Option<rampart_store::Mutation>, ServiceError> {
    if service != "sts" {
        return Ok(None);
    }
    let text = |member: &str| input.get(member).and_then(Value::as_str);
    crate::iam::mfa::verify_token(
        view,
        call.caller,
        text("SerialNumber"),
        text("TokenCode"),
        call.now.timestamp(),
    )
}

/// The caller as the policy engine sees it.
fn principal(caller: &Caller) -> Principal {
    let kind = match caller.principal_type {
        PrincipalType::Root => PrincipalKind::Root,
        PrincipalType::IamUser => PrincipalKind::User,
        PrincipalType::AssumedRole => PrincipalKind::RoleSession,
        PrincipalType::FederatedUser => PrincipalKind::FederatedUser,
        PrincipalType::WebIdentityUser | PrincipalType::SamlUser => PrincipalKind::Anonymous,
    };
    let mut principal = Principal::new(kind, caller.arn.as_str(), caller.account_id.as_str());
    principal.user_id = Some(caller.user_id.clone());
    if let Some((_, role_arn)) = &caller.role {
        principal.role_arn = Some(role_arn.clone());
    }
    principal.tags = Tags(
        caller
            .tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    );
    principal
}

/// Whose identity-based policies apply to the caller.
fn holder(caller: &Caller) -> Option<Holder> {
    let account = &caller.account_id;
    match caller.principal_type {
        PrincipalType::Root | PrincipalType::WebIdentityUser | PrincipalType::SamlUser => None,
        PrincipalType::IamUser | PrincipalType::FederatedUser => caller
            .user_name
            .as_deref()
            .map(|n| Holder::User(records::entity_id(account, n))),
        PrincipalType::AssumedRole => caller
            .role
            .as_ref()
            .map(|(name, _)| Holder::Role(records::entity_id(account, name))),
    }
}

/// The ARN of the resource `action` acts on, from its required resource type's ARN
/// format; `*` when it has none.
fn resource_arn(
    view: &View,
    caller: &Caller,
    service: &str,
    action: &str,
    input: &Value,
) -> String {
    let catalog = catalog::catalog();
    let Some(resource_type) = catalog
        .action(action)
        .and_then(|a| a.resource_types.iter().find(|r| r.required))
        .and_then(|r| catalog.service(service)?.resource_type(&r.name))
    else {
        return "*".to_owned();
    };
    if let Some(arn) = named_arn(&resource_type.name, input) {
        return arn.to_owned();
    }
    let mut arn = String::new();
    let mut rest = resource_type.arn_format.as_str();
    while let Some(start) = rest.find("${") {
        arn.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            break;
        };
        let placeholder = &rest[start + 2..start + end];
        arn.push_str(&fill(view, caller, placeholder, input));
        rest = &rest[start + end + 1..];
    }
    arn.push_str(rest);
    arn
}

/// An input member that names the resource by its ARN.
fn named_arn<'a>(resource_type: &str, input: &'a Value) -> Option<&'a str> {
    let member = match resource_type {
        "policy" => "PolicyArn",
        "mfa" => "SerialNumber",
        "oidc-provider" => "OpenIDConnectProviderArn",
        "saml-provider" => "SAMLProviderArn",
        "role" => "RoleArn",
        _ => return None,
    };
    input.get(member).and_then(Value::as_str)
}

/// The value of one `${Placeholder}` of an ARN format.
fn fill(view: &View, caller: &Caller, placeholder: &str, input: &Value) -> String {
    let account = caller.account_id.as_str();
    let text = |member: &str| input.get(member).and_then(Value::as_str);
    let with_path = |name: Option<&str>, existing: Option<&str>| match name {
        Some(name) => {
            let path = existing.or(text("Path")).unwrap_or("/");
            format!("{}{name}", path.trim_start_matches('/'))
        }
        None => "*".to_owned(),
    };
    match placeholder {
        "Partition" => "aws".to_owned(),
        "Account" => account.to_owned(),
        "UserNameWithPath" => {
            // The named user, else the owner of the named access key, else the caller.
            let key_owner = text("AccessKeyId")
                .and_then(|id| view.access_keys.get(id))
                .map(|e| &e.key)
                .filter(|k| k.account_id == account && !k.root)
                .map(|k| k.user_name.as_str());
            let name = text("UserName")
                .or(key_owner)
                .or(match caller.principal_type {
                    PrincipalType::IamUser => caller.user_name.as_deref(),
                    _ => None,
                });
            let path = name
                .and_then(|n| view.user(account, n))
                .map(|u| u.path.as_str());
            with_path(name, path)
        }
        "GroupNameWithPath" => {
            let name = text("GroupName");
            let path = name
                .and_then(|n| view.groups.get(&records::entity_id(account, n)))
                .map(|g| g.path.as_str());
            with_path(name, path)
        }
        "RoleNameWithPath" => {
            let name = text("RoleName");
            let path = name
                .and_then(|n| view.role(account, n))
                .map(|r| r.path.as_str());
            with_path(name, path)
        }
        "InstanceProfileNameWithPath" => {
            let name = text("InstanceProfileName");
            let path = name
                .and_then(|n| view.instance_profiles.get(&records::entity_id(account, n)))
                .map(|p| p.path.as_str());
            with_path(name, path)
        }
        "PolicyNameWithPath" => with_path(text("PolicyName"), None),
        "MfaTokenIdWithPath" => with_path(text("VirtualMFADeviceName"), None),
        "FederatedUserName" => text("Name").unwrap_or("*").to_owned(),
        // Organizations: ids without their `o-`/`p-`/... prefix, which the formats spell.
        "OrganizationId" => view.org.guardrails(account).map_or("*".to_owned(), |g| {
            g.organization_id.trim_start_matches("o-").to_owned()
        }),
        "AccountId" => text("AccountId").unwrap_or("*").to_owned(),
        "PolicyId" => text("PolicyId")
            .map_or("*", |id| id.trim_start_matches("p-"))
            .to_owned(),
        "PolicyType" => text("PolicyId")
            .and_then(|id| view.org.policy_content(id))
            .map(|(ty, _)| ty)
            .or(text("Type"))
            .map_or("*".to_owned(), str::to_ascii_lowercase),
        "OrganizationalUnitId" => text("OrganizationalUnitId")
            .map_or("*", |id| id.trim_start_matches("ou-"))
            .to_owned(),
        "RootId" => text("RootId")
            .map_or("*", |id| id.trim_start_matches("r-"))
            .to_owned(),
        "HandshakeId" => text("HandshakeId")
            .map_or("*", |id| id.trim_start_matches("h-"))
            .to_owned(),
        "HandshakeType" => "invite".to_owned(),
        "OidcProviderName" => text("Url")
            .map(crate::iam::providers::oidc_url)
            .unwrap_or_else(|| "*".to_owned()),
        "SamlProviderName" => text("Name").unwrap_or("*").to_owned(),
        _ => "*".to_owned(),
    }
}

/// The tags of the IAM entity an ARN names (`aws:ResourceTag/*`).
fn resource_tags<'v>(view: &'v View, arn: &str) -> &'v [Tag] {
    let Some((account, resource)) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(':'))
    else {
        return &[];
    };
    let name = resource.rsplit('/').next().unwrap_or("");
    let id = records::entity_id(account, name);
    let tags = match resource.split('/').next() {
        Some("user") => view.users.get(&id).map(|u| &u.tags),
        Some("role") => view.roles.get(&id).map(|r| &r.tags),
        Some("policy") => view.policies.get(&id).map(|p| &p.tags),
        Some("instance-profile") => view.instance_profiles.get(&id).map(|p| &p.tags),
        _ => None,
    };
    tags.map_or(&[], Vec::as_slice)
}

/// The global condition keys every request carries.
pub(crate) fn request_context(call: &Call<'_>) -> Context {
    let mut context = Context::new();
    context.insert(
        "aws:CurrentTime",
        call.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    context.insert("aws:EpochTime", call.now.timestamp().to_string());
    context.insert("aws:RequestedRegion", call.region);
    context.insert("aws:SourceIp", call.source_ip);
    context.insert("aws:UserAgent", call.user_agent);
    context.insert("aws:SecureTransport", false);
    if let Some(session) = &call.caller.session {
        let issued = chrono::DateTime::from_timestamp(session.issued, 0).unwrap_or_default();
        context.insert(
            "aws:TokenIssueTime",
            issued.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
        );
        context.insert(
            "aws:MultiFactorAuthPresent",
            session.mfa_authenticated.is_some(),
        );
        if let Some(at) = session.mfa_authenticated {
            context.insert(
                "aws:MultiFactorAuthAge",
                (call.now.timestamp() - at).max(0).to_string(),
            );
        }
        if let Some(source) = &session.source_identity {
            context.insert("aws:SourceIdentity", source.as_str());
        }
    }
    context
}

/// The tags a request's `Tags` member carries, in each shape the services' models
/// give it: a list of `Key`/`Value` (IAM, STS, Organizations, CloudTrail), a list of
/// `TagKey`/`TagValue` (KMS), or a map (GuardDuty). `None` without a `Tags` member.
pub fn request_tags(input: &Value) -> Option<Vec<(&str, &str)>> {
    fn pair<'a>(tag: &'a Value, key: &str, value: &str) -> Option<(&'a str, &'a str)> {
        Some((tag.get(key)?.as_str()?, tag.get(value)?.as_str()?))
    }
    match input.get("Tags")? {
        Value::Array(tags) => Some(
            tags.iter()
                .filter_map(|tag| {
                    pair(tag, "Key", "Value").or_else(|| pair(tag, "TagKey", "TagValue"))
                })
                .collect(),
        ),
        Value::Object(tags) => Some(
            tags.iter()
                .filter_map(|(k, v)| Some((k.as_str(), v.as_str()?)))
                .collect(),
        ),
        _ => None,
    }
}

/// `iam:PermissionsBoundary` of an action on a user or role whose input names no
/// boundary (PutUserPolicy, AttachRolePolicy, ...): the boundary the target has, as
/// AWS fills it, so a delegated administrator limited to entities with a given
/// boundary can manage them.
fn add_existing_boundary(
    view: &View,
    caller: &Caller,
    action: &str,
    input: &Value,
    context: &mut Context,
) {
    const KEY: &str = "iam:PermissionsBoundary";
    let text = |member: &str| input.get(member).and_then(Value::as_str);
    let takes_key = catalog::catalog()
        .action(action)
        .is_some_and(|a| a.condition_keys.iter().any(|k| k == KEY));
    if !takes_key || text("PermissionsBoundary").is_some() {
        return;
    }
    let account = caller.account_id.as_str();
    let boundary = match (text("UserName"), text("RoleName")) {
        (Some(user), _) => view
            .user(account, user)
            .and_then(|u| u.permissions_boundary.as_deref()),
        (None, Some(role)) => view
            .role(account, role)
            .and_then(|r| r.permissions_boundary.as_deref()),
        (None, None) => None,
    };
    if let Some(arn) = boundary {
        context.insert(KEY, arn);
    }
}

/// Condition keys the input of an operation supplies: tags on the request, the
/// policies named, and STS's session parameters.
fn add_service_keys(context: &mut Context, service: &str, input: &Value) {
    let text = |member: &str| input.get(member).and_then(Value::as_str);
    if let Some(tags) = request_tags(input) {
        let mut keys = Vec::with_capacity(tags.len());
        for (k, v) in tags {
            context.insert(&format!("aws:RequestTag/{k}"), v);
            keys.push(k.to_owned());
        }
        context.insert("aws:TagKeys", keys);
    }
    if let Some(keys) = input.get("TagKeys").and_then(Value::as_array) {
        let keys: Vec<String> = keys
            .iter()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect();
        context.insert("aws:TagKeys", keys);
    }
    match service {
        "iam" => {
            if let Some(arn) = text("PolicyArn") {
                context.insert("iam:PolicyARN", arn);
            }
            if let Some(arn) = text("PermissionsBoundary") {
                context.insert("iam:PermissionsBoundary", arn);
            }
        }
        "sts" => {
            for (key, member) in [
                ("sts:ExternalId", "ExternalId"),
                ("sts:RoleSessionName", "RoleSessionName"),
                ("sts:SourceIdentity", "SourceIdentity"),
            ] {
                if let Some(value) = text(member) {
                    context.insert(key, value);
                }
            }
            if let Some(keys) = input.get("TransitiveTagKeys").and_then(Value::as_array) {
                let keys: Vec<String> = keys
                    .iter()
                    .filter_map(|k| k.as_str().map(str::to_owned))
                    .collect();
                context.insert("sts:TransitiveTagKeys", keys);
            }
        }
        _ => {}
    }
}
