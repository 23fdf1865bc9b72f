//! REQUEST.json, the input of `rampart policy eval`: one JSON object naming the
//! principal, action, resource, context and every policy that applies. Parsing is
//! pure (from a `&str`); the format is documented in docs/policy.md.

use crate::compile::{CompiledPolicy, PolicySet};
use crate::context::{Context, ContextValue, Principal, PrincipalKind, Request, Resource, Tags};
use crate::error::PolicyError;
use crate::eval::{Decision, Policies, ResourcePolicyKind, evaluate};
use crate::policy::{PolicyType, parse_value, policy_size};
use serde_json::{Map, Value, json};
use std::sync::Arc;

/// Why a REQUEST.json was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    #[error("REQUEST.json is not valid JSON: {0}")]
    Json(String),
    #[error("REQUEST.json field {field}: {problem}")]
    Field { field: String, problem: String },
    #[error("policy {policy}: {error}")]
    Policy { policy: String, error: PolicyError },
}

fn field(f: &str, problem: &str) -> RequestError {
    RequestError::Field {
        field: f.to_string(),
        problem: problem.to_string(),
    }
}

/// A parsed REQUEST.json with its policies compiled.
#[derive(Debug, Clone)]
pub struct EvalRequest {
    pub principal: Principal,
    pub action: String,
    pub resource: Resource,
    pub context: Context,
    pub identity: Option<PolicySet>,
    pub resource_policy: Option<PolicySet>,
    pub resource_kind: ResourcePolicyKind,
    pub boundary: Option<PolicySet>,
    pub session: Option<PolicySet>,
    pub scps: Vec<PolicySet>,
    pub is_management_account: bool,
    pub rcps: Vec<PolicySet>,
    pub endpoint: Option<PolicySet>,
}

fn account_of(arn: &str) -> &str {
    arn.split(':').nth(4).unwrap_or("")
}

fn tags(v: Option<&Value>, f: &str) -> Result<Tags, RequestError> {
    let mut t = Tags::default();
    if let Some(v) = v {
        let o = v.as_object().ok_or_else(|| field(f, "must be an object"))?;
        for (k, v) in o {
            let v = v
                .as_str()
                .ok_or_else(|| field(f, "tag values must be strings"))?;
            t.insert(k.clone(), v);
        }
    }
    Ok(t)
}

fn scalar(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn str_field<'a>(
    o: &'a Map<String, Value>,
    k: &str,
    f: &str,
) -> Result<Option<&'a str>, RequestError> {
    match o.get(k) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(_) => Err(field(&format!("{f}.{k}"), "must be a string")),
    }
}

/// One POLICY: a document, or `{"id": ..., "document": ...}`; a document given as
/// a JSON string is accepted too.
fn policy(
    v: &Value,
    ty: PolicyType,
    default_id: String,
) -> Result<Arc<CompiledPolicy>, RequestError> {
    let (id, doc) = match v {
        Value::Object(o) if o.contains_key("document") => (
            o.get("id")
                .and_then(Value::as_str)
                .map_or(default_id, str::to_string),
            &o["document"],
        ),
        _ => (default_id, v),
    };
    let fail = |error| RequestError::Policy {
        policy: id.clone(),
        error,
    };
    let parsed = match doc {
        Value::String(s) => crate::policy::parse(s, ty).map_err(fail)?,
        other => {
            let text = other.to_string();
            if policy_size(&text) > ty.size_quota() {
                // Quotas are checked on the document as written; here it is re-serialized.
                return crate::policy::parse(&text, ty)
                    .map(|p| Arc::new(CompiledPolicy::new(&p, id.clone())))
                    .map_err(fail);
            }
            parse_value(other, ty).map_err(fail)?
        }
    };
    Ok(Arc::new(CompiledPolicy::new(&parsed, id)))
}

/// The policies of field `f`. An empty list is an error except for identity policies:
/// a principal with none is the common case (deny by default, access through a
/// resource policy alone), while an empty SCP level or boundary could only deny.
fn policy_list(
    v: &Value,
    ty: PolicyType,
    prefix: &str,
    f: &str,
) -> Result<PolicySet, RequestError> {
    let list: Vec<&Value> = match v {
        Value::Array(a) => a.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::with_capacity(list.len());
    for (i, p) in list.into_iter().enumerate() {
        out.push(policy(p, ty, format!("{prefix}{i}"))?);
    }
    if out.is_empty() && ty != PolicyType::Identity {
        return Err(field(f, "must hold at least one policy"));
    }
    Ok(PolicySet::new(out))
}

fn chain(
    v: Option<&Value>,
    ty: PolicyType,
    prefix: &str,
    f: &str,
) -> Result<Vec<PolicySet>, RequestError> {
    let Some(v) = v else { return Ok(Vec::new()) };
    let levels = v
        .as_array()
        .ok_or_else(|| field(f, "must be an array of levels"))?;
    levels
        .iter()
        .enumerate()
        .map(|(i, l)| policy_list(l, ty, &format!("{prefix}-{i}-"), &format!("{f}[{i}]")))
        .collect()
}

impl EvalRequest {
    /// Parses REQUEST.json.
    pub fn from_json(text: &str) -> Result<EvalRequest, RequestError> {
        let v: Value = serde_json::from_str(text).map_err(|e| RequestError::Json(e.to_string()))?;
        let o = v
            .as_object()
            .ok_or_else(|| field("(root)", "must be an object"))?;
        let p = o
            .get("principal")
            .and_then(Value::as_object)
            .ok_or_else(|| field("principal", "is required and must be an object"))?;
        let kind_name = str_field(p, "type", "principal")?.unwrap_or("user");
        let kind = PrincipalKind::from_name(kind_name).ok_or_else(|| {
            field(
                "principal.type",
                "must be user, role, role-session, root, federated-user, service or anonymous",
            )
        })?;
        let arn = str_field(p, "arn", "principal")?.unwrap_or("");
        if arn.is_empty() && kind != PrincipalKind::Anonymous {
            return Err(field("principal.arn", "is required"));
        }
        let account = str_field(p, "account", "principal")?.unwrap_or_else(|| account_of(arn));
        let mut principal = Principal::new(kind, arn, account);
        principal.tags = tags(p.get("tags"), "principal.tags")?;
        principal.is_service_linked_role = p
            .get("isServiceLinkedRole")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        if let Some(r) = str_field(p, "roleArn", "principal")? {
            principal.role_arn = Some(r.to_string());
        }
        if let Some(s) = str_field(p, "sessionName", "principal")? {
            principal.session_name = Some(s.to_string());
        }
        principal.user_id = str_field(p, "userId", "principal")?.map(str::to_string);
        principal.canonical_user = str_field(p, "canonicalUser", "principal")?.map(str::to_string);

        let action = o
            .get("action")
            .and_then(Value::as_str)
            .ok_or_else(|| field("action", "is required and must be a string"))?
            .to_string();
        let r = o
            .get("resource")
            .ok_or_else(|| field("resource", "is required"))?;
        let resource = match r {
            Value::String(s) => Resource::new(s.clone(), account_of(s)),
            Value::Object(ro) => {
                let arn = str_field(ro, "arn", "resource")?.unwrap_or("*");
                let account =
                    str_field(ro, "account", "resource")?.unwrap_or_else(|| account_of(arn));
                let mut res = Resource::new(arn, account);
                res.tags = tags(ro.get("tags"), "resource.tags")?;
                res
            }
            _ => return Err(field("resource", "must be an object")),
        };
        let mut context = Context::new();
        if let Some(c) = o.get("context") {
            let c = c
                .as_object()
                .ok_or_else(|| field("context", "must be an object"))?;
            for (k, v) in c {
                let value = match v {
                    Value::Array(a) => ContextValue::Multi(
                        a.iter()
                            .map(scalar)
                            .collect::<Option<Vec<_>>>()
                            .ok_or_else(|| {
                                field(&format!("context.{k}"), "values must be scalars")
                            })?,
                    ),
                    other => ContextValue::Single(scalar(other).ok_or_else(|| {
                        field(&format!("context.{k}"), "must be a scalar or an array")
                    })?),
                };
                context.insert(k, value);
            }
        }
        let resource_kind = match str_field(o, "resourcePolicyType", "")? {
            Some("trust") => ResourcePolicyKind::Trust,
            Some("key") => ResourcePolicyKind::Key,
            Some("resource") => ResourcePolicyKind::Standard,
            Some(_) => {
                return Err(field(
                    "resourcePolicyType",
                    "must be resource, trust or key",
                ));
            }
            None => {
                let a = action.to_ascii_lowercase();
                if a.starts_with("sts:assumerole") {
                    ResourcePolicyKind::Trust
                } else if a.starts_with("kms:") {
                    ResourcePolicyKind::Key
                } else {
                    ResourcePolicyKind::Standard
                }
            }
        };
        let resource_ty = if resource_kind == ResourcePolicyKind::Trust {
            PolicyType::Trust
        } else {
            PolicyType::Resource
        };
        let opt = |k: &str, ty, prefix: &str| -> Result<Option<PolicySet>, RequestError> {
            o.get(k)
                .filter(|v| !v.is_null())
                .map(|v| policy_list(v, ty, prefix, k))
                .transpose()
        };
        Ok(EvalRequest {
            identity: opt("identityPolicies", PolicyType::Identity, "identity-")?,
            resource_policy: opt("resourcePolicy", resource_ty, "resource-")?,
            resource_kind,
            boundary: opt("permissionsBoundary", PolicyType::Boundary, "boundary-")?,
            session: opt("sessionPolicy", PolicyType::Session, "session-")?,
            scps: chain(
                o.get("serviceControlPolicies"),
                PolicyType::Scp,
                "scp",
                "serviceControlPolicies",
            )?,
            is_management_account: o
                .get("isManagementAccount")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            rcps: chain(
                o.get("resourceControlPolicies"),
                PolicyType::Rcp,
                "rcp",
                "resourceControlPolicies",
            )?,
            endpoint: opt("endpointPolicies", PolicyType::Endpoint, "endpoint-")?,
            principal,
            action,
            resource,
            context,
        })
    }

    /// The policies, borrowed for [`evaluate`].
    pub fn policies(&self) -> Policies<'_> {
        Policies {
            identity: self.identity.as_ref(),
            resource: self.resource_policy.as_ref(),
            resource_kind: self.resource_kind,
            boundary: self.boundary.as_ref(),
            session: self.session.as_ref(),
            scps: &self.scps,
            is_management_account: self.is_management_account,
            rcps: &self.rcps,
            endpoint: self.endpoint.as_ref(),
        }
    }

    /// The request, borrowed for [`evaluate`].
    pub fn request(&self) -> Request<'_> {
        Request {
            principal: &self.principal,
            action: &self.action,
            resource: &self.resource,
            context: &self.context,
        }
    }

    /// Evaluates.
    pub fn evaluate(&self) -> Decision {
        evaluate(&self.policies(), &self.request())
    }
}

fn type_name(t: PolicyType) -> &'static str {
    match t {
        PolicyType::Identity => "identity",
        PolicyType::Resource => "resource",
        PolicyType::Trust => "trust",
        PolicyType::Boundary => "boundary",
        PolicyType::Session => "session",
        PolicyType::Scp => "scp",
        PolicyType::Rcp => "rcp",
        PolicyType::Endpoint => "endpoint",
    }
}

/// `{"decision": ..., "decidedBy": ..., "matchedStatements": [...]}`.
pub fn decision_json(d: &Decision) -> Value {
    let matched: Vec<Value> = d
        .matched
        .iter()
        .map(|m| {
            json!({
                "policyId": m.policy_id(),
                "policyType": type_name(m.policy_type()),
                "statementIndex": m.statement_index(),
                "sid": m.sid(),
                "effect": match m.effect() { crate::policy::Effect::Allow => "Allow", crate::policy::Effect::Deny => "Deny" },
            })
        })
        .collect();
    json!({
        "decision": d.kind.name(),
        "decidedBy": d.decided_by.name(),
        "matchedStatements": matched,
    })
}
