//! Evaluation across policy types, following the IAM User Guide's "Policy
//! evaluation logic", "Determining whether a request is allowed or denied within an
//! account" and "Cross-account policy evaluation logic":
//!
//! 1. An explicit deny in any applicable policy decides (checked first, across all
//!    types, stopping at the first).
//! 2. Resource control policies, then service control policies: every level of the
//!    chain must allow.
//! 3. A VPC endpoint policy, when present, must allow.
//! 4. Within one account a resource-based policy that names the caller allows by
//!    itself (a role ARN stays limited by boundary and session policy); otherwise
//!    an identity-based policy must allow, then the boundary and the session policy.
//!    Cross-account, both sides must allow. Trust and key policies must name the
//!    caller even within the account.
//!
//! Nothing here allocates policy data; a decision holds `Arc` clones of ids.

use crate::compile::{ActionKey, CompiledPolicy, Grant, PolicySet, Ref};
use crate::context::{PrincipalKind, Request};
use crate::policy::{Effect, PolicyType};
use std::sync::Arc;

/// What kind of resource-based policy `Policies::resource` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ResourcePolicyKind {
    /// Bucket policies and the like: within the account, identity policies suffice.
    #[default]
    Standard,
    /// A role trust policy: must allow the caller even within the account.
    Trust,
    /// A KMS key policy: must allow the caller even within the account (naming the
    /// account root delegates to IAM policies).
    Key,
}

/// The policies that apply to one request. Every field is optional; empty means
/// "this type does not apply".
#[derive(Debug, Clone, Copy, Default)]
pub struct Policies<'a> {
    /// Identity-based policies of the user (and its groups) or the role.
    pub identity: Option<&'a PolicySet>,
    /// The resource-based policy of the target (bucket, key, trust policy, ...).
    pub resource: Option<&'a PolicySet>,
    pub resource_kind: ResourcePolicyKind,
    pub boundary: Option<&'a PolicySet>,
    pub session: Option<&'a PolicySet>,
    /// SCP chain of the principal's account: root, each OU, the account.
    pub scps: &'a [PolicySet],
    /// The principal's account is the organization's management account.
    pub is_management_account: bool,
    /// RCP chain of the resource's account.
    pub rcps: &'a [PolicySet],
    pub endpoint: Option<&'a PolicySet>,
}

impl Policies<'_> {
    /// Whether deciding a request against these policies can look at its
    /// [`Context`](crate::Context) ([`PolicySet::reads_context`] of any of them).
    pub fn read_context(&self) -> bool {
        [
            self.identity,
            self.resource,
            self.boundary,
            self.session,
            self.endpoint,
        ]
        .into_iter()
        .flatten()
        .chain(self.scps)
        .chain(self.rcps)
        .any(PolicySet::reads_context)
    }
}

/// The three outcomes IAM reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecisionKind {
    Allow,
    ExplicitDeny,
    ImplicitDeny,
}

impl DecisionKind {
    /// `allowed` / `explicitDeny` / `implicitDeny`, IAM's EvalDecision spelling.
    pub fn iam_name(self) -> &'static str {
        match self {
            Self::Allow => "allowed",
            Self::ExplicitDeny => "explicitDeny",
            Self::ImplicitDeny => "implicitDeny",
        }
    }
    pub fn name(self) -> &'static str {
        match self {
            Self::Allow => "Allow",
            Self::ExplicitDeny => "ExplicitDeny",
            Self::ImplicitDeny => "ImplicitDeny",
        }
    }
}

/// The policy type that decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DecidedBy {
    IdentityPolicy,
    ResourcePolicy,
    PermissionsBoundary,
    SessionPolicy,
    ServiceControlPolicy,
    ResourceControlPolicy,
    VpcEndpointPolicy,
    /// The account root user in its own account: no policy needed.
    RootUser,
}

impl DecidedBy {
    pub fn name(self) -> &'static str {
        match self {
            Self::IdentityPolicy => "IdentityPolicy",
            Self::ResourcePolicy => "ResourcePolicy",
            Self::PermissionsBoundary => "PermissionsBoundary",
            Self::SessionPolicy => "SessionPolicy",
            Self::ServiceControlPolicy => "ServiceControlPolicy",
            Self::ResourceControlPolicy => "ResourceControlPolicy",
            Self::VpcEndpointPolicy => "VpcEndpointPolicy",
            Self::RootUser => "RootUser",
        }
    }
    /// The phrase AWS uses in AccessDenied messages.
    pub fn phrase(self) -> &'static str {
        match self {
            Self::IdentityPolicy => "identity-based policy",
            Self::ResourcePolicy => "resource-based policy",
            Self::PermissionsBoundary => "permissions boundary",
            Self::SessionPolicy => "session policy",
            Self::ServiceControlPolicy => "service control policy",
            Self::ResourceControlPolicy => "resource control policy",
            Self::VpcEndpointPolicy => "VPC endpoint policy",
            Self::RootUser => "root user",
        }
    }
}

/// A statement that took part in the decision (IAM's MatchedStatements). Holds
/// the compiled policy by `Arc`: building one costs a reference count, no copy.
#[derive(Debug, Clone)]
pub struct MatchedStatement {
    policy: Arc<CompiledPolicy>,
    index: u32,
}

impl MatchedStatement {
    /// The policy's id (as given to [`CompiledPolicy::new`]).
    pub fn policy_id(&self) -> &str {
        self.policy.id()
    }
    pub fn policy_type(&self) -> PolicyType {
        self.policy.policy_type()
    }
    pub fn policy(&self) -> &Arc<CompiledPolicy> {
        &self.policy
    }
    /// Zero-based index in the policy's `Statement` list.
    pub fn statement_index(&self) -> usize {
        self.index as usize
    }
    pub fn sid(&self) -> Option<&str> {
        self.policy.statements[self.index as usize].sid.as_deref()
    }
    pub fn effect(&self) -> Effect {
        self.policy.statements[self.index as usize].effect
    }
}

impl PartialEq for MatchedStatement {
    fn eq(&self, other: &Self) -> bool {
        self.index == other.index
            && (Arc::ptr_eq(&self.policy, &other.policy) || self.policy_id() == other.policy_id())
    }
}
impl Eq for MatchedStatement {}

/// The result of [`evaluate`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    pub kind: DecisionKind,
    /// The policy type that decided; `RootUser` for the root user in its account.
    pub decided_by: DecidedBy,
    /// For a deny: the deny statement. For an allow: the allow statement(s) found at
    /// each level that had to allow.
    pub matched: Vec<MatchedStatement>,
}

impl Decision {
    pub fn is_allowed(&self) -> bool {
        self.kind == DecisionKind::Allow
    }
    fn implicit(by: DecidedBy) -> Decision {
        Decision {
            kind: DecisionKind::ImplicitDeny,
            decided_by: by,
            matched: Vec::new(),
        }
    }

    /// The reason phrase of AWS's AccessDenied message: `because no identity-based
    /// policy allows the s3:GetObject action` or `with an explicit deny in a service
    /// control policy`. `None` for an allow.
    pub fn reason(&self, action: &str) -> Option<String> {
        let p = self.decided_by.phrase();
        match self.kind {
            DecisionKind::Allow => None,
            DecisionKind::ExplicitDeny => {
                let article = if p.starts_with(['a', 'e', 'i', 'o', 'u']) {
                    "an"
                } else {
                    "a"
                };
                Some(format!("with an explicit deny in {article} {p}"))
            }
            DecisionKind::ImplicitDeny => {
                Some(format!("because no {p} allows the {action} action"))
            }
        }
    }

    /// AWS's full AccessDenied message.
    pub fn access_denied_message(
        &self,
        principal_arn: &str,
        action: &str,
        resource: &str,
    ) -> String {
        let mut m = format!(
            "User: {principal_arn} is not authorized to perform: {action} on resource: {resource}"
        );
        if let Some(r) = self.reason(action) {
            m.push(' ');
            m.push_str(&r);
        }
        m
    }
}

fn matched(set: &PolicySet, r: Ref) -> MatchedStatement {
    MatchedStatement {
        policy: set.policies()[r.policy as usize].clone(),
        index: r.stmt,
    }
}

/// First statement of `effect` that applies; with `want_direct` for allows, keeps
/// looking for a stronger grant.
/// The statement of `set` with `effect` that applies to `req` with the strongest grant.
/// `bounded`: the caller has a permissions boundary (see `CStatement::applies`).
fn find(
    set: &PolicySet,
    req: &Request<'_>,
    action: &ActionKey<'_>,
    effect: Effect,
    bounded: bool,
) -> Option<(Ref, Grant)> {
    let c = set.candidates(action);
    let mut best: Option<(Ref, Grant)> = None;
    let lists = [
        (c.exact.map_or(&[][..], |b| b.get(effect)), false),
        (c.wild.map_or(&[][..], |b| b.get(effect)), true),
        (c.always.get(effect), true),
    ];
    for (list, check) in lists {
        for &r in list {
            let (_, s) = set.stmt(r);
            if let Some(g) = s.applies(req, action.lower, check, bounded) {
                if g == Grant::Direct {
                    return Some((r, g));
                }
                if best.is_none_or(|(_, b)| g > b) {
                    best = Some((r, g));
                }
            }
        }
    }
    best
}

/// `None`: the type does not apply; `Some(None)`: it applies and does not allow.
fn first_allow<'s>(
    set: Option<&'s PolicySet>,
    req: &Request<'_>,
    action: &ActionKey<'_>,
) -> Option<Option<(&'s PolicySet, Ref)>> {
    set.map(|s| find(s, req, action, Effect::Allow, false).map(|(r, _)| (s, r)))
}

/// Runs `f` with the action lower-cased, without allocating for usual lengths.
fn with_lower<T>(action: &str, f: impl FnOnce(&str) -> T) -> T {
    if !action.bytes().any(|b| b.is_ascii_uppercase()) {
        return f(action);
    }
    let mut buf = [0u8; 128];
    if action.len() <= buf.len() {
        let b = &mut buf[..action.len()];
        b.copy_from_slice(action.as_bytes());
        b.make_ascii_lowercase();
        match std::str::from_utf8(b) {
            Ok(s) => f(s),
            Err(_) => f(&action.to_ascii_lowercase()),
        }
    } else {
        f(&action.to_ascii_lowercase())
    }
}

/// Decides `req` against `policies`.
pub fn evaluate(policies: &Policies<'_>, req: &Request<'_>) -> Decision {
    with_lower(req.action, |a| evaluate_lower(policies, req, a))
}

fn evaluate_lower(ps: &Policies<'_>, req: &Request<'_>, action: &str) -> Decision {
    let action = &ActionKey::new(action);
    let p = req.principal;
    let kind = p.kind;
    let scp_applies = !ps.is_management_account
        && !p.is_service_linked_role
        && !matches!(kind, PrincipalKind::Service | PrincipalKind::Anonymous);
    let rcp_applies = !p.is_service_linked_role && kind != PrincipalKind::Service;
    let iam = kind.is_iam_identity();
    let session_applies = matches!(
        kind,
        PrincipalKind::RoleSession | PrincipalKind::Role | PrincipalKind::FederatedUser
    );
    let scps: &[PolicySet] = if scp_applies { ps.scps } else { &[] };
    let rcps: &[PolicySet] = if rcp_applies { ps.rcps } else { &[] };
    let identity = ps.identity.filter(|_| iam);
    let boundary = ps.boundary.filter(|_| iam);
    let session = ps.session.filter(|_| session_applies);
    let bounded = boundary.is_some();

    // 1. Explicit deny anywhere: first one found decides.
    let singles = [
        (ps.endpoint, DecidedBy::VpcEndpointPolicy),
        (ps.resource, DecidedBy::ResourcePolicy),
        (identity, DecidedBy::IdentityPolicy),
        (boundary, DecidedBy::PermissionsBoundary),
        (session, DecidedBy::SessionPolicy),
    ];
    let chains = [
        (scps, DecidedBy::ServiceControlPolicy),
        (rcps, DecidedBy::ResourceControlPolicy),
    ];
    let deny_in = |set: &PolicySet, by| {
        find(set, req, action, Effect::Deny, bounded).map(|(r, _)| Decision {
            kind: DecisionKind::ExplicitDeny,
            decided_by: by,
            matched: vec![matched(set, r)],
        })
    };
    for (chain, by) in chains {
        for set in chain {
            if let Some(d) = deny_in(set, by) {
                return d;
            }
        }
    }
    for (set, by) in singles {
        if let Some(d) = set.and_then(|s| deny_in(s, by)) {
            return d;
        }
    }

    // 2-3. Every RCP and SCP level, then the endpoint policy, must allow.
    let mut found = Vec::new();
    for (chain, by) in chains {
        for set in chain {
            match find(set, req, action, Effect::Allow, bounded) {
                Some((r, _)) => found.push(matched(set, r)),
                None => return Decision::implicit(by),
            }
        }
    }
    if let Some(set) = ps.endpoint {
        match find(set, req, action, Effect::Allow, bounded) {
            Some((r, _)) => found.push(matched(set, r)),
            None => return Decision::implicit(DecidedBy::VpcEndpointPolicy),
        }
    }

    // 4. The caller's own permissions and the resource's.
    let res_allow = ps
        .resource
        .and_then(|s| find(s, req, action, Effect::Allow, bounded).map(|(r, g)| (s, r, g)));
    let allow = |mut found: Vec<MatchedStatement>, by, extra: &[(&PolicySet, Ref)]| {
        found.extend(extra.iter().map(|(s, r)| matched(s, *r)));
        Decision {
            kind: DecisionKind::Allow,
            decided_by: by,
            matched: found,
        }
    };
    let cross_account = !req.resource.account.is_empty() && req.resource.account != p.account;
    let res_by = DecidedBy::ResourcePolicy;
    match kind {
        PrincipalKind::Service | PrincipalKind::Anonymous => match res_allow {
            Some((s, r, Grant::Direct)) => allow(found, res_by, &[(s, r)]),
            _ => Decision::implicit(res_by),
        },
        PrincipalKind::Root => {
            if cross_account || ps.resource_kind != ResourcePolicyKind::Standard {
                match res_allow {
                    Some((s, r, _)) => allow(found, res_by, &[(s, r)]),
                    None => Decision::implicit(res_by),
                }
            } else {
                allow(found, DecidedBy::RootUser, &[])
            }
        }
        _ => {
            let first_allow = |set| first_allow(set, req, action);
            // Some(None): the type applies and does not allow.
            let bnd = first_allow(boundary);
            let ses = first_allow(session);
            let check_limits = |found: &mut Vec<MatchedStatement>,
                                boundary: bool,
                                session: bool|
             -> Result<(), Decision> {
                if boundary && let Some(b) = bnd {
                    let (s, r) = b.ok_or(Decision::implicit(DecidedBy::PermissionsBoundary))?;
                    found.push(matched(s, r));
                }
                if session && let Some(x) = ses {
                    let (s, r) = x.ok_or(Decision::implicit(DecidedBy::SessionPolicy))?;
                    found.push(matched(s, r));
                }
                Ok(())
            };
            let via_identity = |mut found: Vec<MatchedStatement>, extra: &[(&PolicySet, Ref)]| {
                let Some((s, r)) = first_allow(identity).flatten() else {
                    return Decision::implicit(DecidedBy::IdentityPolicy);
                };
                found.push(matched(s, r));
                if let Err(d) = check_limits(&mut found, true, true) {
                    return d;
                }
                allow(found, DecidedBy::IdentityPolicy, extra)
            };
            if cross_account {
                let Some((s, r, _)) = res_allow else {
                    return match first_allow(identity).flatten() {
                        None => Decision::implicit(DecidedBy::IdentityPolicy),
                        Some(_) => Decision::implicit(res_by),
                    };
                };
                return via_identity(found, &[(s, r)]);
            }
            match res_allow {
                Some((s, r, Grant::Direct)) => allow(found, res_by, &[(s, r)]),
                Some((s, r, Grant::Role)) => match check_limits(&mut found, true, true) {
                    Ok(()) => allow(found, res_by, &[(s, r)]),
                    Err(d) => d,
                },
                Some((s, r, Grant::Account)) => via_identity(found, &[(s, r)]),
                None if ps.resource_kind != ResourcePolicyKind::Standard => {
                    Decision::implicit(res_by)
                }
                None => via_identity(found, &[]),
            }
        }
    }
}
