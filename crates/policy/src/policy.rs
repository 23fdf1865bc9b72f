//! The policy document as written: [`parse`] checks it against the grammar and the
//! rules of its [`PolicyType`] and returns a [`Policy`] (strings kept as written, for
//! validation and listing context keys). [`crate::compile`] turns it into the
//! evaluation form.

use crate::error::{PolicyError, PolicyErrorKind as K, messages as m};
use serde_json::Value;

/// What a policy document is used as. Each type has its own rules and size quota.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PolicyType {
    /// Attached to a user, group or role (managed or inline).
    Identity,
    /// Attached to a resource (bucket policy, key policy, ...): needs a principal.
    Resource,
    /// A role's trust policy (AssumeRolePolicyDocument).
    Trust,
    /// A permissions boundary (a managed policy used as a boundary).
    Boundary,
    /// A session policy passed to AssumeRole / GetFederationToken.
    Session,
    /// A service control policy (Organizations).
    Scp,
    /// A resource control policy (Organizations).
    Rcp,
    /// A VPC endpoint policy.
    Endpoint,
}

impl PolicyType {
    /// Parses the command-line spelling (`identity`, `resource`, `trust`, ...).
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "identity" => Self::Identity,
            "resource" => Self::Resource,
            "trust" => Self::Trust,
            "boundary" => Self::Boundary,
            "session" => Self::Session,
            "scp" => Self::Scp,
            "rcp" => Self::Rcp,
            "endpoint" => Self::Endpoint,
            _ => return None,
        })
    }
    /// AWS's size quota in characters (white space outside strings not counted).
    pub fn size_quota(self) -> usize {
        match self {
            Self::Identity | Self::Boundary => 6144,
            Self::Trust | Self::Session => 2048,
            Self::Resource => 20480,
            Self::Scp | Self::Rcp => 5120,
            Self::Endpoint => 20480,
        }
    }
    fn size_message(self) -> String {
        match self {
            Self::Trust => "Cannot exceed quota for ACLSizePerRole: 2048".to_string(),
            Self::Session => {
                "Packed policy consumes more than 100 percent of the allotted size".to_string()
            }
            Self::Scp | Self::Rcp => {
                "The provided policy document exceeds the maximum size allowed for this policy type."
                    .to_string()
            }
            _ => format!("Cannot exceed quota for PolicySize: {}", self.size_quota()),
        }
    }
    /// Statements must (true) or must not (false) name a principal.
    pub fn needs_principal(self) -> bool {
        matches!(
            self,
            Self::Resource | Self::Trust | Self::Rcp | Self::Endpoint
        )
    }
    /// Organizations policies report their own message for type-rule violations.
    fn is_org(self) -> bool {
        matches!(self, Self::Scp | Self::Rcp)
    }
}

/// `Version`: variables are substituted only under 2012-10-17; a policy without a
/// version is read as 2008-10-17.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Version {
    V2012_10_17,
    V2008_10_17,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Effect {
    Allow,
    Deny,
}

/// A `Principal` / `NotPrincipal` value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PrincipalSpec {
    /// `"*"`.
    Any,
    /// `{"AWS": [...], "Service": [...], "Federated": [...], "CanonicalUser": [...]}`.
    Map(Vec<(String, Vec<String>)>),
}

/// One `Operator: {Key: values}` entry of a `Condition` block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConditionEntry {
    pub operator: String,
    pub key: String,
    pub values: Vec<String>,
}

/// One statement, as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub principal: Option<PrincipalSpec>,
    /// `principal` came from `NotPrincipal`.
    pub not_principal: bool,
    pub actions: Vec<String>,
    /// `actions` came from `NotAction`.
    pub not_action: bool,
    /// `None`: no Resource element (allowed in trust policies only).
    pub resources: Option<Vec<String>>,
    pub not_resource: bool,
    pub conditions: Vec<ConditionEntry>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Policy {
    pub policy_type: PolicyType,
    pub version: Version,
    /// The document's `Id`.
    pub id: Option<String>,
    pub statements: Vec<Statement>,
    /// Length of the source JSON in bytes.
    pub json_len: usize,
}

/// Size as AWS counts it: characters, white space outside strings excluded.
pub fn policy_size(json: &str) -> usize {
    let (mut n, mut in_str, mut esc) = (0usize, false, false);
    for c in json.chars() {
        if in_str {
            n += 1;
            if esc {
                esc = false;
            } else if c == '\\' {
                esc = true;
            } else if c == '"' {
                in_str = false;
            }
        } else if !c.is_whitespace() {
            n += 1;
            in_str = c == '"';
        }
    }
    n
}

/// Parses and checks a policy document for `ty`. The error carries AWS's
/// `MalformedPolicyDocument` message.
pub fn parse(json: &str, ty: PolicyType) -> Result<Policy, PolicyError> {
    let value: Value = serde_json::from_str(json).map_err(|_| PolicyError::syntax())?;
    let mut p = parse_value(&value, ty)?;
    p.json_len = json.len();
    if policy_size(json) > ty.size_quota() {
        return Err(PolicyError::new(K::SizeQuota, ty.size_message()));
    }
    Ok(p)
}

/// Parses an already-decoded JSON document (no size check).
pub fn parse_value(value: &Value, ty: PolicyType) -> Result<Policy, PolicyError> {
    let obj = value.as_object().ok_or_else(PolicyError::syntax)?;
    let mut version = Version::V2008_10_17;
    let mut id = None;
    let mut stmts = None;
    for (k, v) in obj {
        match k.as_str() {
            "Version" => {
                version = match v.as_str() {
                    Some("2012-10-17") => Version::V2012_10_17,
                    Some("2008-10-17") => Version::V2008_10_17,
                    _ => return Err(PolicyError::new(K::Version, m::LEGACY)),
                }
            }
            "Id" => id = Some(v.as_str().ok_or_else(PolicyError::syntax)?.to_string()),
            "Statement" => stmts = Some(v),
            _ => return Err(PolicyError::syntax()),
        }
    }
    let stmts = stmts.ok_or_else(|| PolicyError::new(K::MissingElement, m::MISSING_STATEMENT))?;
    let list: Vec<&Value> = match stmts {
        Value::Array(a) => a.iter().collect(),
        Value::Object(_) => vec![stmts],
        _ => return Err(PolicyError::syntax()),
    };
    let mut statements = Vec::with_capacity(list.len());
    for s in list {
        statements.push(parse_statement(s, ty)?);
    }
    let mut sids: Vec<&str> = statements.iter().filter_map(|s| s.sid.as_deref()).collect();
    sids.sort_unstable();
    if sids.windows(2).any(|w| w[0] == w[1]) {
        return Err(PolicyError::new(K::Sid, m::SID_UNIQUE));
    }
    Ok(Policy {
        policy_type: ty,
        version,
        id,
        statements,
        json_len: 0,
    })
}

fn string_list(v: &Value) -> Result<Vec<String>, PolicyError> {
    match v {
        Value::String(s) => Ok(vec![s.clone()]),
        Value::Array(a) => a
            .iter()
            .map(|x| {
                x.as_str()
                    .map(str::to_string)
                    .ok_or_else(PolicyError::syntax)
            })
            .collect(),
        _ => Err(PolicyError::syntax()),
    }
}

fn scalar_list(v: &Value) -> Result<Vec<String>, PolicyError> {
    let one = |x: &Value| match x {
        Value::String(s) => Ok(s.clone()),
        Value::Bool(b) => Ok(b.to_string()),
        Value::Number(n) => Ok(n.to_string()),
        _ => Err(PolicyError::syntax()),
    };
    match v {
        Value::Array(a) => a.iter().map(one).collect(),
        other => Ok(vec![one(other)?]),
    }
}

fn type_error(ty: PolicyType, iam_message: &str) -> PolicyError {
    if ty.is_org() {
        PolicyError::new(
            K::ProhibitedElement,
            "The provided policy document does not meet the requirements of the specified policy type.",
        )
    } else {
        PolicyError::new(K::ProhibitedElement, iam_message)
    }
}

fn parse_principal(v: &Value) -> Result<PrincipalSpec, PolicyError> {
    match v {
        Value::String(s) if s == "*" => Ok(PrincipalSpec::Any),
        Value::Object(o) => {
            let mut out = Vec::new();
            for (k, vals) in o {
                if !matches!(
                    k.as_str(),
                    "AWS" | "Service" | "Federated" | "CanonicalUser"
                ) {
                    return Err(PolicyError::syntax());
                }
                let vals = string_list(vals)?;
                for p in &vals {
                    if k == "AWS" && !valid_aws_principal(p) {
                        return Err(PolicyError::new(
                            K::InvalidValue,
                            format!("Invalid principal in policy: \"AWS\":\"{p}\""),
                        ));
                    }
                }
                out.push((k.clone(), vals));
            }
            Ok(PrincipalSpec::Map(out))
        }
        _ => Err(PolicyError::syntax()),
    }
}

fn valid_aws_principal(p: &str) -> bool {
    p == "*"
        || (p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()))
        || is_unique_id(p)
        || ((p.starts_with("arn:") && p.split(':').count() >= 6)
            && (p.contains(":iam::") || p.contains(":sts::")))
}

/// A user's or role's unique id (`AIDA…`, `AROA…`): IAM writes it into a policy in
/// place of a principal that was deleted, and it matches no principal created since.
fn is_unique_id(p: &str) -> bool {
    (p.starts_with("AIDA") || p.starts_with("AROA"))
        && p.len() == 21
        && p.bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit())
}

fn has_vendor(s: &str) -> bool {
    s == "*" || matches!(s.split_once(':'), Some((v, a)) if !v.is_empty() && !a.is_empty())
}

fn parse_statement(v: &Value, ty: PolicyType) -> Result<Statement, PolicyError> {
    let obj = v.as_object().ok_or_else(PolicyError::syntax)?;
    let mut st = Statement {
        sid: None,
        effect: Effect::Allow,
        principal: None,
        not_principal: false,
        actions: Vec::new(),
        not_action: false,
        resources: None,
        not_resource: false,
        conditions: Vec::new(),
    };
    let (mut effect, mut saw_action, mut saw_principal) = (None, false, false);
    for (k, val) in obj {
        match k.as_str() {
            "Sid" => st.sid = Some(val.as_str().ok_or_else(PolicyError::syntax)?.to_string()),
            "Effect" => {
                effect = Some(match val.as_str() {
                    Some("Allow") => Effect::Allow,
                    Some("Deny") => Effect::Deny,
                    _ => return Err(PolicyError::syntax()),
                })
            }
            "Principal" | "NotPrincipal" => {
                if saw_principal {
                    return Err(PolicyError::syntax());
                }
                saw_principal = true;
                st.not_principal = k == "NotPrincipal";
                st.principal = Some(parse_principal(val)?);
            }
            "Action" | "NotAction" => {
                if saw_action {
                    return Err(PolicyError::syntax());
                }
                saw_action = true;
                st.not_action = k == "NotAction";
                st.actions = string_list(val)?;
            }
            "Resource" | "NotResource" => {
                if st.resources.is_some() {
                    return Err(PolicyError::syntax());
                }
                st.not_resource = k == "NotResource";
                st.resources = Some(string_list(val)?);
            }
            "Condition" => {
                let ops = val.as_object().ok_or_else(PolicyError::syntax)?;
                for (op, keys) in ops {
                    let keys = keys.as_object().ok_or_else(PolicyError::syntax)?;
                    if crate::condition::Operator::parse(op).is_none() {
                        return Err(PolicyError::syntax());
                    }
                    for (key, vals) in keys {
                        if !has_vendor(key) || key == "*" {
                            return Err(PolicyError::new(K::Vendor, m::VENDOR));
                        }
                        st.conditions.push(ConditionEntry {
                            operator: op.clone(),
                            key: key.clone(),
                            values: scalar_list(vals)?,
                        });
                    }
                }
            }
            _ => return Err(PolicyError::syntax()),
        }
    }
    st.effect = effect.ok_or_else(|| PolicyError::new(K::MissingElement, m::MISSING_EFFECT))?;
    if matches!(
        ty,
        PolicyType::Identity | PolicyType::Boundary | PolicyType::Session
    ) && let Some(sid) = &st.sid
        && !sid.chars().all(|c| c.is_ascii_alphanumeric())
    {
        return Err(PolicyError::new(K::Sid, m::SID_ALNUM));
    }
    // Principal rules per type.
    if ty.needs_principal() {
        if st.principal.is_none() {
            return Err(type_error(ty, m::MISSING_PRINCIPAL));
        }
        if ty == PolicyType::Rcp && (st.not_principal || st.principal != Some(PrincipalSpec::Any)) {
            return Err(type_error(ty, m::MISSING_PRINCIPAL));
        }
    } else if st.principal.is_some() {
        return Err(type_error(ty, m::NO_PRINCIPAL_ALLOWED));
    }
    if !saw_action || st.actions.is_empty() {
        return Err(PolicyError::new(K::MissingElement, m::MISSING_ACTIONS));
    }
    if st.actions.iter().any(|a| !has_vendor(a)) {
        return Err(PolicyError::new(K::Vendor, m::VENDOR));
    }
    match (&st.resources, ty) {
        (Some(_), PolicyType::Trust) => {
            let f = if st.not_resource {
                "NotResource"
            } else {
                "Resource"
            };
            return Err(PolicyError::new(
                K::ProhibitedElement,
                format!("Has prohibited field {f}"),
            ));
        }
        (None, PolicyType::Trust) => {}
        (None, _) => return Err(PolicyError::new(K::MissingElement, m::MISSING_RESOURCES)),
        (Some(r), _) if r.is_empty() => {
            return Err(PolicyError::new(K::MissingElement, m::MISSING_RESOURCES));
        }
        (Some(r), _) => {
            if let Some(bad) = r
                .iter()
                .find(|r| !(r.starts_with("arn:") || r.starts_with('*') || r.starts_with("${")))
            {
                return Err(PolicyError::new(
                    K::InvalidValue,
                    format!("Resource {bad} must be in ARN format or \"*\"."),
                ));
            }
        }
    }
    Ok(st)
}
