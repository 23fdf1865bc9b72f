//! IAM's policy simulator: `SimulatePrincipalPolicy`, `SimulateCustomPolicy` and the
//! two `GetContextKeysFor…Policy` operations.
//!
//! The decision is the policy engine's own ([`rampart_policy::evaluate`] over
//! [`Policies`]); this module only gathers the policies, builds the request each
//! action × resource pair stands for, and reports the decision the way IAM does: the
//! matched statements with the source policy they came from and their position in
//! its document, the context keys the relevant statements use that the request did
//! not supply, and the boundary's and Organizations' part in the decision.
//!
//! The policies of a principal are the ones the view holds (its inline policies and
//! the default versions of the managed policies it attaches, and for a user those of
//! its groups). They are compiled here, one [`CompiledPolicy`] per source document,
//! so that every matched statement can be traced back to the document it came from.

use std::sync::Arc;

use rampart_policy::{
    CompiledPolicy, Context, ContextValue, Decision, DecisionKind, Effect, Policies, Policy,
    PolicySet, PolicyType, Principal, PrincipalKind, Request, Resource, Tags, context_keys,
    evaluate,
};
use serde::Deserialize;
use serde_json::{Value, json};

use super::no_such_entity;
use super::paging::Paging;
use crate::aws_managed;
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::records::{self, Permissions, Tag};
use crate::view::View;

/// `SimulatePrincipalPolicy` and `SimulateCustomPolicy` input (the custom one has no
/// `PolicySourceArn`).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SimulateInput {
    policy_source_arn: Option<String>,
    #[serde(default)]
    policy_input_list: Vec<String>,
    #[serde(default)]
    permissions_boundary_policy_input_list: Vec<String>,
    action_names: Vec<String>,
    #[serde(default)]
    resource_arns: Vec<String>,
    resource_policy: Option<String>,
    resource_owner: Option<String>,
    caller_arn: Option<String>,
    #[serde(default)]
    context_entries: Vec<ContextEntry>,
    resource_handling_option: Option<String>,
    #[serde(flatten)]
    paging: Paging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct ContextEntry {
    context_key_name: Option<String>,
    #[serde(default)]
    context_key_values: Vec<String>,
    context_key_type: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ContextKeysInput {
    policy_source_arn: Option<String>,
    #[serde(default)]
    policy_input_list: Vec<String>,
}

/// The scenarios `ResourceHandlingOption` may name.
const RESOURCE_HANDLING_OPTIONS: &[&str] = &[
    "EC2-Classic-InstanceStore",
    "EC2-Classic-EBS",
    "EC2-VPC-InstanceStore",
    "EC2-VPC-InstanceStore-Subnet",
    "EC2-VPC-EBS",
    "EC2-VPC-EBS-Subnet",
];

/// One policy document that takes part in a simulation, and where it came from.
struct Source {
    /// `SourcePolicyId`: the policy's name, `user_NAME_POLICY` for inline policies,
    /// `PolicyInputList.N`, `ResourcePolicy`, ...
    id: String,
    /// `SourcePolicyType`.
    kind: &'static str,
    document: String,
    policy: Policy,
    compiled: Arc<CompiledPolicy>,
}

impl Source {
    fn parse(
        id: String,
        kind: &'static str,
        document: &str,
        ty: PolicyType,
    ) -> Result<Source, ServiceError> {
        let policy = rampart_policy::parse(document, ty).map_err(|e| {
            ServiceError::modeled("MalformedPolicyDocument", e.message().to_owned())
        })?;
        let compiled = Arc::new(CompiledPolicy::new(&policy, id.as_str()));
        Ok(Source {
            id,
            kind,
            document: document.to_owned(),
            policy,
            compiled,
        })
    }

    /// A stored document: it was checked when it was stored, so one that no longer
    /// parses is left out (it grants nothing, as authorization treats it).
    fn stored(id: String, kind: &'static str, document: &str) -> Option<Source> {
        Source::parse(id, kind, document, PolicyType::Identity).ok()
    }
}

/// The principal whose policies a `PolicySourceArn` names.
enum SourceEntity {
    User(records::User),
    Group(records::Group),
    Role(records::Role),
}

/// Looks up the user, group or role an ARN names, or NoSuchEntity.
fn source_entity(view: &View, account: &str, arn: &str) -> Result<SourceEntity, ServiceError> {
    let invalid = || ServiceError::modeled("InvalidInput", format!("Invalid ARN: {arn}"));
    let (arn_account, resource) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(':'))
        .ok_or_else(invalid)?;
    let (kind, path_and_name) = resource.split_once('/').ok_or_else(invalid)?;
    let name = path_and_name.rsplit('/').next().unwrap_or("");
    if name.is_empty() {
        return Err(invalid());
    }
    let id = records::entity_id(arn_account, name);
    let foreign = arn_account != account;
    let missing =
        |noun: &str| no_such_entity(format!("The {noun} with name {name} cannot be found."));
    match kind {
        "user" => view
            .users
            .get(&id)
            .filter(|u| !foreign && u.arn() == arn)
            .map(|u| SourceEntity::User(u.clone()))
            .ok_or_else(|| missing("user")),
        "group" => view
            .groups
            .get(&id)
            .filter(|g| !foreign && g.arn() == arn)
            .map(|g| SourceEntity::Group(g.clone()))
            .ok_or_else(|| missing("group")),
        "role" => view
            .roles
            .get(&id)
            .filter(|r| !foreign && r.arn() == arn)
            .map(|r| SourceEntity::Role(r.clone()))
            .ok_or_else(|| missing("role")),
        _ => Err(invalid()),
    }
}

/// The inline and attached policies of one holder as sources (`kind_NAME_POLICY` for
/// inline ones, the policy name for managed ones).
fn holder_sources(view: &View, kind: &'static str, name: &str, p: &Permissions) -> Vec<Source> {
    let mut out: Vec<Source> = p
        .inline_policies
        .iter()
        .filter_map(|(policy, doc)| Source::stored(format!("{kind}_{name}_{policy}"), kind, doc))
        .collect();
    out.extend(
        p.attached_policies
            .iter()
            .filter_map(|arn| managed_source(view, arn)),
    );
    out
}

/// A managed policy (its default version) as a source.
fn managed_source(view: &View, arn: &str) -> Option<Source> {
    let name = arn.rsplit('/').next().unwrap_or(arn).to_owned();
    if let Some(doc) = aws_managed::document(arn) {
        return Source::stored(name, "aws-managed", doc);
    }
    let version = view.policy_by_arn(arn)?.default()?;
    Source::stored(name, "user-managed", &version.document)
}

/// What a principal brings to a simulation: its identity policies, its boundary, and
/// the request principal it stands for.
struct PrincipalPolicies {
    identity: Vec<Source>,
    boundary: Vec<Source>,
    principal: Option<Principal>,
}

fn principal_policies(view: &View, entity: &SourceEntity) -> PrincipalPolicies {
    match entity {
        SourceEntity::User(user) => {
            let mut identity = holder_sources(view, "user", &user.user_name, &user.permissions);
            for group in &user.groups {
                if let Some(g) = view
                    .groups
                    .get(&records::entity_id(&user.account_id, group))
                {
                    identity.extend(holder_sources(view, "group", &g.group_name, &g.permissions));
                }
            }
            let boundary = user
                .permissions_boundary
                .iter()
                .filter_map(|arn| managed_source(view, arn))
                .collect();
            let mut principal = Principal::new(PrincipalKind::User, user.arn(), &user.account_id);
            principal.user_id = Some(user.user_id.clone());
            principal.tags = tags(&user.tags);
            PrincipalPolicies {
                identity,
                boundary,
                principal: Some(principal),
            }
        }
        SourceEntity::Group(group) => PrincipalPolicies {
            identity: holder_sources(view, "group", &group.group_name, &group.permissions),
            boundary: Vec::new(),
            principal: None,
        },
        SourceEntity::Role(role) => {
            let boundary = role
                .permissions_boundary
                .iter()
                .filter_map(|arn| managed_source(view, arn))
                .collect();
            let mut principal = Principal::new(PrincipalKind::Role, role.arn(), &role.account_id);
            principal.tags = tags(&role.tags);
            PrincipalPolicies {
                identity: holder_sources(view, "role", &role.role_name, &role.permissions),
                boundary,
                principal: Some(principal),
            }
        }
    }
}

fn tags(tags: &[Tag]) -> Tags {
    Tags(
        tags.iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    )
}

/// `PolicyInputList` (or the boundary list) as sources, `PREFIX.N` counting from 1.
fn input_sources(
    list: &[String],
    prefix: &str,
    ty: PolicyType,
) -> Result<Vec<Source>, ServiceError> {
    list.iter()
        .enumerate()
        .map(|(i, doc)| Source::parse(format!("{prefix}.{}", i + 1), "none", doc, ty))
        .collect()
}

pub fn simulate_principal(call: &Call<'_>, input: SimulateInput) -> Result<Outcome, ServiceError> {
    let arn = input
        .policy_source_arn
        .clone()
        .ok_or_else(|| ServiceError::Validation("PolicySourceArn is required".to_owned()))?;
    let view = call.plane.view();
    let entity = source_entity(&view, &call.caller.account_id, &arn)?;
    let mut policies = principal_policies(&view, &entity);
    drop(view);
    policies.identity.extend(input_sources(
        &input.policy_input_list,
        "PolicyInputList",
        PolicyType::Identity,
    )?);
    if !input.permissions_boundary_policy_input_list.is_empty() {
        // A boundary given here replaces the one the entity has.
        policies.boundary = input_sources(
            &input.permissions_boundary_policy_input_list,
            "PermissionsBoundaryPolicyInputList",
            PolicyType::Boundary,
        )?;
    }
    if input.resource_policy.is_some()
        && input.caller_arn.is_none()
        && !matches!(entity, SourceEntity::User(_))
    {
        return Err(ServiceError::modeled(
            "InvalidInput",
            "CallerArn is required if you include a ResourcePolicy and the PolicySourceArn is not the ARN of an IAM user.",
        ));
    }
    simulate(call, input, policies)
}

pub fn simulate_custom(call: &Call<'_>, input: SimulateInput) -> Result<Outcome, ServiceError> {
    let policies = PrincipalPolicies {
        identity: input_sources(
            &input.policy_input_list,
            "PolicyInputList",
            PolicyType::Identity,
        )?,
        boundary: input_sources(
            &input.permissions_boundary_policy_input_list,
            "PermissionsBoundaryPolicyInputList",
            PolicyType::Boundary,
        )?,
        principal: None,
    };
    if input.resource_policy.is_some() && input.caller_arn.is_none() {
        return Err(ServiceError::modeled(
            "InvalidInput",
            "CallerArn is required if you include a ResourcePolicy.",
        ));
    }
    simulate(call, input, policies)
}

/// The simulated caller: `CallerArn` (an IAM user), else the source principal, else
/// a user of the caller's account with no name.
fn request_principal(
    call: &Call<'_>,
    caller_arn: Option<&str>,
    source: Option<Principal>,
) -> Result<Principal, ServiceError> {
    let account = call.caller.account_id.as_str();
    let Some(arn) = caller_arn else {
        return Ok(source.unwrap_or_else(|| Principal::new(PrincipalKind::User, "", account)));
    };
    let user_part = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(':'))
        .filter(|(acct, res)| !acct.is_empty() && res.starts_with("user/"));
    let Some((caller_account, resource)) = user_part else {
        return Err(ServiceError::modeled(
            "InvalidInput",
            format!("Invalid CallerArn: {arn}. The caller must be an IAM user."),
        ));
    };
    let mut principal = Principal::new(PrincipalKind::User, arn, caller_account);
    let name = resource.rsplit('/').next().unwrap_or("");
    if let Some(user) = call
        .plane
        .view()
        .user(caller_account, name)
        .filter(|u| u.arn() == arn)
    {
        principal.user_id = Some(user.user_id.clone());
        principal.tags = tags(&user.tags);
    }
    Ok(principal)
}

/// The request context `ContextEntries` describe, checked against their types.
fn context_of(entries: &[ContextEntry]) -> Result<Context, ServiceError> {
    let mut context = Context::new();
    for entry in entries {
        let Some(name) = entry.context_key_name.as_deref() else {
            return Err(ServiceError::modeled(
                "InvalidInput",
                "ContextKeyName is required in a context entry.",
            ));
        };
        let ty = entry.context_key_type.as_deref().unwrap_or("string");
        let base = ty.strip_suffix("List").unwrap_or(ty);
        for value in &entry.context_key_values {
            let ok = match base {
                "numeric" => value.trim().parse::<f64>().is_ok(),
                "boolean" => {
                    value.eq_ignore_ascii_case("true") || value.eq_ignore_ascii_case("false")
                }
                "ip" => valid_ip(value),
                _ => true,
            };
            if !ok {
                return Err(ServiceError::modeled(
                    "InvalidInput",
                    format!("Invalid value {value} for context key {name} of type {ty}."),
                ));
            }
        }
        let values = entry.context_key_values.clone();
        let value = if ty.ends_with("List") || values.len() != 1 {
            ContextValue::Multi(values)
        } else {
            ContextValue::Single(values.into_iter().next().unwrap_or_default())
        };
        context.insert(name, value);
    }
    Ok(context)
}

fn valid_ip(value: &str) -> bool {
    let (addr, prefix) = match value.split_once('/') {
        Some((a, p)) => (a, Some(p)),
        None => (value, None),
    };
    let Ok(ip) = addr.parse::<std::net::IpAddr>() else {
        return false;
    };
    let max = if ip.is_ipv4() { 32 } else { 128 };
    prefix.is_none_or(|p| p.parse::<u8>().is_ok_and(|p| p <= max))
}

/// The account an ARN names, if it names one.
fn arn_account(arn: &str) -> Option<&str> {
    arn.split(':').nth(4).filter(|a| !a.is_empty())
}

/// Everything one simulation evaluates against.
struct Simulation {
    identity: Vec<Source>,
    boundary: Vec<Source>,
    resource: Option<Source>,
    identity_set: PolicySet,
    boundary_set: Option<PolicySet>,
    resource_set: Option<PolicySet>,
    principal: Principal,
    context: Context,
}

impl Simulation {
    fn policies(&self) -> Policies<'_> {
        Policies {
            identity: Some(&self.identity_set),
            boundary: self.boundary_set.as_ref(),
            resource: self.resource_set.as_ref(),
            ..Policies::default()
        }
    }

    fn sources(&self) -> impl Iterator<Item = &Source> {
        self.identity
            .iter()
            .chain(&self.boundary)
            .chain(self.resource.as_ref())
    }

    fn evaluate(&self, action: &str, resource: &Resource) -> Decision {
        evaluate(
            &self.policies(),
            &Request {
                principal: &self.principal,
                action,
                resource,
                context: &self.context,
            },
        )
    }

    /// IAM's `Statement` for each statement the decision rests on.
    fn matched(&self, decision: &Decision) -> Vec<Value> {
        decision
            .matched
            .iter()
            .filter_map(|m| {
                let source = self
                    .sources()
                    .find(|s| Arc::ptr_eq(&s.compiled, m.policy()))?;
                let (start, end) = statement_positions(&source.document)
                    .get(m.statement_index())
                    .copied()?;
                Some(json!({
                    "SourcePolicyId": source.id,
                    "SourcePolicyType": source.kind,
                    "StartPosition": start.output(),
                    "EndPosition": end.output(),
                }))
            })
            .collect()
    }

    /// The context keys that statements relevant to this action and resource use
    /// (whatever their conditions say) and the request does not supply.
    fn missing_context(&self, action: &str, resource: &Resource) -> Vec<String> {
        let mut missing: Vec<String> = Vec::new();
        for source in self.sources() {
            for statement in &source.policy.statements {
                let single = Policy {
                    statements: vec![statement.clone()],
                    ..source.policy.clone()
                };
                let keys = context_keys(&single);
                let unsupplied: Vec<String> = keys
                    .into_iter()
                    .filter(|k| !self.supplies(k, resource))
                    .filter(|k| !missing.iter().any(|m| m.eq_ignore_ascii_case(k)))
                    .collect();
                if unsupplied.is_empty() || !self.relevant(&single, action, resource) {
                    continue;
                }
                missing.extend(unsupplied);
            }
        }
        missing
    }

    /// Whether `single`'s statement names this action and resource, its conditions
    /// and principal aside (resources with policy variables count as `*`).
    fn relevant(&self, single: &Policy, action: &str, resource: &Resource) -> bool {
        let mut probe = single.clone();
        probe.policy_type = PolicyType::Identity;
        for s in &mut probe.statements {
            s.effect = Effect::Allow;
            s.conditions.clear();
            s.principal = None;
            s.not_principal = false;
            let has_variables = s.resources.iter().flatten().any(|r| r.contains("${"));
            if s.resources.is_none() || has_variables {
                s.resources = Some(vec!["*".to_owned()]);
                s.not_resource = false;
            }
        }
        let compiled = Arc::new(CompiledPolicy::new(&probe, "probe"));
        let set = PolicySet::single(compiled);
        let mut principal = self.principal.clone();
        if principal.kind == PrincipalKind::Root {
            principal.kind = PrincipalKind::User;
        }
        evaluate(
            &Policies {
                identity: Some(&set),
                ..Policies::default()
            },
            &Request {
                principal: &principal,
                action,
                resource,
                context: &self.context,
            },
        )
        .is_allowed()
    }

    /// Whether the request supplies `key`: in the context, or as a key the engine
    /// derives from the principal and resource.
    fn supplies(&self, key: &str, resource: &Resource) -> bool {
        if self.context.get(key).is_some() {
            return true;
        }
        let lower = key.to_ascii_lowercase();
        let p = &self.principal;
        if let Some(tag) = lower.strip_prefix("aws:principaltag/") {
            return p.tags.get(tag).is_some();
        }
        if let Some(tag) = lower.strip_prefix("aws:resourcetag/") {
            return resource.tags.get(tag).is_some();
        }
        match lower.as_str() {
            "aws:username" => p.username().is_some(),
            "aws:userid" => p.user_id.is_some(),
            "aws:principalarn" | "aws:principalaccount" => !p.arn.is_empty(),
            "aws:principaltype" | "aws:principalisawsservice" => true,
            "aws:resourceaccount" => !resource.account.is_empty(),
            _ => false,
        }
    }

    /// Whether the boundary alone allows the action on the resource.
    fn boundary_allows(&self, action: &str, resource: &Resource) -> Option<bool> {
        let boundary = self.boundary_set.as_ref()?;
        let decision = evaluate(
            &Policies {
                identity: Some(boundary),
                ..Policies::default()
            },
            &Request {
                principal: &self.principal,
                action,
                resource,
                context: &self.context,
            },
        );
        Some(decision.is_allowed())
    }

    /// `EvalDecisionDetails` of a cross-account request: the decision of each side.
    fn cross_account_details(&self, action: &str, resource: &Resource) -> Value {
        let request = Request {
            principal: &self.principal,
            action,
            resource,
            context: &self.context,
        };
        let identity = evaluate(
            &Policies {
                identity: Some(&self.identity_set),
                boundary: self.boundary_set.as_ref(),
                ..Policies::default()
            },
            &Request {
                resource: &Resource::new(resource.arn.as_str(), self.principal.account.as_str()),
                ..request
            },
        );
        let mut details = json!({ "IAM Policy": identity.kind.iam_name() });
        if let Some(set) = &self.resource_set {
            let on_resource = evaluate(
                &Policies {
                    resource: Some(set),
                    ..Policies::default()
                },
                &request,
            );
            let kind = match on_resource.kind {
                DecisionKind::ExplicitDeny => DecisionKind::ExplicitDeny,
                _ if on_resource.matched.is_empty() => DecisionKind::ImplicitDeny,
                _ => DecisionKind::Allow,
            };
            details["Resource Policy"] = json!(kind.iam_name());
        }
        details
    }
}

fn simulate(
    call: &Call<'_>,
    input: SimulateInput,
    policies: PrincipalPolicies,
) -> Result<Outcome, ServiceError> {
    if let Some(option) = &input.resource_handling_option
        && !RESOURCE_HANDLING_OPTIONS
            .iter()
            .any(|o| o.eq_ignore_ascii_case(option))
    {
        return Err(ServiceError::modeled(
            "InvalidInput",
            format!("Invalid ResourceHandlingOption: {option}"),
        ));
    }
    if input.action_names.is_empty() {
        return Err(ServiceError::modeled(
            "InvalidInput",
            "ActionNames must contain at least one action.",
        ));
    }
    let resource = input
        .resource_policy
        .as_deref()
        .map(|doc| {
            Source::parse(
                "ResourcePolicy".to_owned(),
                "resource",
                doc,
                PolicyType::Resource,
            )
        })
        .transpose()?;
    let principal = request_principal(call, input.caller_arn.as_deref(), policies.principal)?;
    let context = context_of(&input.context_entries)?;
    let identity_set = PolicySet::new(
        policies
            .identity
            .iter()
            .map(|s| s.compiled.clone())
            .collect(),
    );
    let boundary_set = (!policies.boundary.is_empty()).then(|| {
        PolicySet::new(
            policies
                .boundary
                .iter()
                .map(|s| s.compiled.clone())
                .collect(),
        )
    });
    let resource_set = resource
        .as_ref()
        .map(|s| PolicySet::single(s.compiled.clone()));
    let sim = Simulation {
        identity: policies.identity,
        boundary: policies.boundary,
        resource,
        identity_set,
        boundary_set,
        resource_set,
        principal,
        context,
    };
    let owner = input.resource_owner.clone();
    let specific = !input.resource_arns.is_empty();
    let resources: Vec<String> = if specific {
        input.resource_arns.clone()
    } else {
        vec!["*".to_owned()]
    };
    // Result `i` is action `i / resources` on resource `i % resources`. Only the page
    // asked for is evaluated: the work and memory of a call are bounded by its page
    // (at most 1000 results), not by actions × resources.
    let total = input.action_names.len().saturating_mul(resources.len());
    let (shown, next) = input.paging.window(total, |i| format!("{i:020}"))?;
    let results: Vec<Value> = shown
        .map(|i| {
            let action = &input.action_names[i / resources.len()];
            let arn = &resources[i % resources.len()];
            let account = owner
                .as_deref()
                .or_else(|| arn_account(arn))
                .unwrap_or(sim.principal.account.as_str());
            let resource = Resource::new(arn.as_str(), account);
            evaluation_result(&sim, action, &resource, specific)
        })
        .collect();
    Ok(Outcome::output(Paging::output(
        "EvaluationResults",
        results,
        next,
    )))
}

/// One `EvaluationResult`.
fn evaluation_result(sim: &Simulation, action: &str, resource: &Resource, specific: bool) -> Value {
    let decision = sim.evaluate(action, resource);
    let matched = sim.matched(&decision);
    let missing = sim.missing_context(action, resource);
    let cross_account = resource.account != sim.principal.account;
    let details = if cross_account {
        Some(sim.cross_account_details(action, resource))
    } else if specific {
        Some(json!({}))
    } else {
        None
    };
    let boundary = sim
        .boundary_allows(action, resource)
        .map(|allowed| json!({ "AllowedByPermissionsBoundary": allowed }));
    let mut out = json!({
        "EvalActionName": action,
        "EvalResourceName": resource.arn,
        "EvalDecision": decision.kind.iam_name(),
        "MatchedStatements": matched,
        "MissingContextValues": if specific { Vec::new() } else { missing.clone() },
        "OrganizationsDecisionDetail": { "AllowedByOrganizations": true },
    });
    if let Some(details) = &details {
        out["EvalDecisionDetails"] = details.clone();
    }
    if let Some(boundary) = &boundary {
        out["PermissionsBoundaryDecisionDetail"] = boundary.clone();
    }
    if specific {
        let mut one = json!({
            "EvalResourceName": resource.arn,
            "EvalResourceDecision": decision.kind.iam_name(),
            "MatchedStatements": out["MatchedStatements"].clone(),
            "MissingContextValues": missing,
            "EvalDecisionDetails": details.unwrap_or_else(|| json!({})),
        });
        if let Some(boundary) = boundary {
            one["PermissionsBoundaryDecisionDetail"] = boundary;
        }
        out["ResourceSpecificResults"] = json!([one]);
    }
    out
}

pub fn context_keys_for_principal(
    call: &Call<'_>,
    input: ContextKeysInput,
) -> Result<Outcome, ServiceError> {
    let arn = input
        .policy_source_arn
        .ok_or_else(|| ServiceError::Validation("PolicySourceArn is required".to_owned()))?;
    let view = call.plane.view();
    let entity = source_entity(&view, &call.caller.account_id, &arn)?;
    let mut sources = principal_policies(&view, &entity).identity;
    drop(view);
    sources.extend(input_sources(
        &input.policy_input_list,
        "PolicyInputList",
        PolicyType::Identity,
    )?);
    Ok(Outcome::output(
        json!({ "ContextKeyNames": keys_of(&sources) }),
    ))
}

pub fn context_keys_for_custom(
    _call: &Call<'_>,
    input: ContextKeysInput,
) -> Result<Outcome, ServiceError> {
    let sources = input_sources(
        &input.policy_input_list,
        "PolicyInputList",
        PolicyType::Identity,
    )?;
    Ok(Outcome::output(
        json!({ "ContextKeyNames": keys_of(&sources) }),
    ))
}

/// The distinct context keys of `sources`, in first-seen spelling.
fn keys_of(sources: &[Source]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in sources.iter().flat_map(|s| context_keys(&s.policy)) {
        if !out.iter().any(|k| k.eq_ignore_ascii_case(&key)) {
            out.push(key);
        }
    }
    out
}

/// A place in a policy document as IAM's simulator reports it: 1-based line, and the
/// 1-based column just after the token the parser had read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Position {
    pub line: usize,
    pub column: usize,
}

impl Position {
    fn output(self) -> Value {
        json!({ "Line": self.line, "Column": self.column })
    }
}

/// The start and end position of every statement of `document`, by statement index.
///
/// IAM reports where its JSON parser stood: a statement ends just after its closing
/// brace; a statement that is the `Statement` value itself starts just after its
/// opening brace (the parser reads the brace with the member name), and one in a
/// `Statement` array starts just after the token before it (the `[`, or the
/// previous statement's closing brace). Lines break at `\n`, `\r` and `\r\n`.
/// A document that is not a JSON object yields no positions.
pub fn statement_positions(document: &str) -> Vec<(Position, Position)> {
    let chars: Vec<char> = document.chars().collect();
    // The position just after each character.
    let mut after = Vec::with_capacity(chars.len());
    let (mut line, mut column) = (1usize, 1usize);
    for (i, &c) in chars.iter().enumerate() {
        let newline = c == '\n' || (c == '\r' && chars.get(i + 1) != Some(&'\n'));
        if newline {
            line += 1;
            column = 1;
        } else {
            column += 1;
        }
        after.push(Position { line, column });
    }
    let scan = Scanner { chars: &chars };
    scan.statements()
        .into_iter()
        .filter_map(|(start, end)| Some((*after.get(start)?, *after.get(end)?)))
        .collect()
}

/// A forgiving walk over JSON text by character index.
struct Scanner<'a> {
    chars: &'a [char],
}

impl Scanner<'_> {
    fn at(&self, i: usize) -> Option<char> {
        self.chars.get(i).copied()
    }

    fn skip_ws(&self, mut i: usize) -> usize {
        while self.at(i).is_some_and(|c| c.is_whitespace()) {
            i += 1;
        }
        i
    }

    /// From the opening quote at `i`: the string's text and the index of its closing quote.
    fn string(&self, i: usize) -> Option<(String, usize)> {
        let mut text = String::new();
        let mut j = i + 1;
        loop {
            match self.at(j)? {
                '"' => return Some((text, j)),
                '\\' => {
                    text.push(self.at(j + 1)?);
                    j += 2;
                }
                c => {
                    text.push(c);
                    j += 1;
                }
            }
        }
    }

    /// From the value's first character at `i`: the index of its last character.
    fn value_end(&self, i: usize) -> Option<usize> {
        match self.at(i)? {
            '"' => self.string(i).map(|(_, end)| end),
            '{' | '[' => {
                let mut depth = 0usize;
                let mut j = i;
                loop {
                    match self.at(j)? {
                        '"' => j = self.string(j)?.1,
                        '{' | '[' => depth += 1,
                        '}' | ']' => {
                            depth -= 1;
                            if depth == 0 {
                                return Some(j);
                            }
                        }
                        _ => {}
                    }
                    j += 1;
                }
            }
            _ => {
                let mut j = i;
                while self
                    .at(j + 1)
                    .is_some_and(|c| !c.is_whitespace() && !matches!(c, ',' | '}' | ']'))
                {
                    j += 1;
                }
                Some(j)
            }
        }
    }

    /// `(start, end)` character indexes whose following positions IAM reports.
    fn statements(&self) -> Vec<(usize, usize)> {
        let mut out = Vec::new();
        let mut i = self.skip_ws(0);
        if self.at(i) != Some('{') {
            return out;
        }
        i += 1;
        loop {
            i = self.skip_ws(i);
            match self.at(i) {
                Some('"') => {}
                _ => return out,
            }
            let Some((key, key_end)) = self.string(i) else {
                return out;
            };
            i = self.skip_ws(key_end + 1);
            if self.at(i) != Some(':') {
                return out;
            }
            i = self.skip_ws(i + 1);
            let Some(end) = self.value_end(i) else {
                return out;
            };
            if key == "Statement" {
                out = self.statement_value(i, end);
            }
            i = self.skip_ws(end + 1);
            if self.at(i) != Some(',') {
                return out;
            }
            i += 1;
        }
    }

    fn statement_value(&self, start: usize, end: usize) -> Vec<(usize, usize)> {
        match self.at(start) {
            Some('{') => vec![(start, end)],
            Some('[') => {
                let mut out = Vec::new();
                let mut before = start;
                let mut i = start + 1;
                loop {
                    while self.at(i).is_some_and(|c| c.is_whitespace() || c == ',') {
                        i += 1;
                    }
                    if i >= end {
                        return out;
                    }
                    let Some(element_end) = self.value_end(i) else {
                        return out;
                    };
                    if self.at(i) == Some('{') {
                        out.push((before, element_end));
                    }
                    before = element_end;
                    i = element_end + 1;
                }
            }
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pos(line: usize, column: usize) -> Position {
        Position { line, column }
    }

    #[test]
    fn single_statement_object_on_one_line_matches_aws_example() {
        // The policy of the aws-cli simulate-custom-policy example, whose output says
        // StartPosition {1, 38} and EndPosition {1, 167}.
        let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"dynamodb:*","Resource":"*","Condition":{"DateGreaterThan":{"aws:CurrentTime":"2018-08-16T12:00:00Z"}}}}"#;
        assert_eq!(statement_positions(doc), vec![(pos(1, 38), pos(1, 167))]);
    }

    #[test]
    fn pretty_printed_statement_array_matches_aws_administrator_access() {
        // AdministratorAccess as AWS stores it; the simulator reports {3, 17}-{8, 6}.
        let doc = "{\n  \"Version\": \"2012-10-17\",\n  \"Statement\": [\n    {\n      \"Effect\": \"Allow\",\n      \"Action\": \"*\",\n      \"Resource\": \"*\"\n    }\n  ]\n}";
        assert_eq!(statement_positions(doc), vec![(pos(3, 17), pos(8, 6))]);
    }

    #[test]
    fn later_statements_start_after_the_previous_one() {
        let doc = "{\"Statement\":[{\"Effect\":\"Allow\"},\r\n {\"Effect\":\"Deny\"}],\"Version\":\"2012-10-17\"}";
        let p = statement_positions(doc);
        assert_eq!(p.len(), 2);
        // `[` is the 14th character: the first statement starts at column 15.
        assert_eq!(p[0], (pos(1, 15), pos(1, 33)));
        // The second starts where the first ended, and ends on the next line.
        assert_eq!(p[1], (pos(1, 33), pos(2, 19)));
    }

    #[test]
    fn strings_with_braces_and_escapes_do_not_confuse_the_scan() {
        let doc = r#"{"Id":"a}\"{[","Statement":[{"Sid":"x}]","Effect":"Allow"}]}"#;
        let p = statement_positions(doc);
        assert_eq!(p.len(), 1);
        let end = doc.len(); // `]}` follow the statement's `}`
        assert_eq!(p[0].1, pos(1, end - 1));
    }

    #[test]
    fn non_objects_have_no_positions() {
        assert!(statement_positions("[]").is_empty());
        assert!(statement_positions("").is_empty());
        assert!(statement_positions(r#"{"Statement":"#).is_empty());
    }

    #[test]
    fn context_entries_are_checked_against_their_type() {
        let entry = |ty: &str, v: &str| ContextEntry {
            context_key_name: Some("aws:x".into()),
            context_key_values: vec![v.into()],
            context_key_type: Some(ty.into()),
        };
        assert!(context_of(&[entry("numeric", "12.5")]).is_ok());
        assert!(context_of(&[entry("numeric", "twelve")]).is_err());
        assert!(context_of(&[entry("boolean", "TRUE")]).is_ok());
        assert!(context_of(&[entry("boolean", "yes")]).is_err());
        assert!(context_of(&[entry("ip", "10.0.0.0/8")]).is_ok());
        assert!(context_of(&[entry("ipList", "10.0.0.0/33")]).is_err());
        let c = context_of(&[entry("stringList", "a")]).unwrap();
        assert_eq!(c.get("AWS:X"), Some(&ContextValue::Multi(vec!["a".into()])));
        let c = context_of(&[entry("string", "a")]).unwrap();
        assert_eq!(c.get("aws:x"), Some(&ContextValue::Single("a".into())));
    }
}
