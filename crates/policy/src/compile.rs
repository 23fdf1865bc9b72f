//! The evaluation form: [`CompiledPolicy`] (one document, typed and pre-parsed) and
//! [`PolicySet`] (several documents of one kind, with their statements indexed by
//! action so a request only looks at statements that could match it).
//!
//! Invariants: action patterns are lower-cased; every statement of every policy in a
//! set appears in the set's index under each action it names (or in `always`, for
//! `*`, `NotAction` and anything the index cannot key), in the deny or allow bucket
//! of its effect.

use crate::condition::{Condition, Operator};
use crate::context::{Principal, PrincipalKind, Request};
use crate::error::PolicyError;
use crate::pattern::{Pattern, Resolver};
use crate::policy::{Effect, Policy, PolicyType, PrincipalSpec, Version};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;

/// How a resource-based statement matched the caller; stronger grants come later.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Grant {
    /// The caller's account (`"123456789012"` or `arn:...:root`): delegation to the
    /// account's identity policies.
    Account,
    /// The role of a role session, by role ARN: limited by boundary and session policy.
    Role,
    /// The caller itself (user ARN, session ARN, `*`, service, ...).
    Direct,
}

#[derive(Debug, Clone, PartialEq)]
enum AwsPrincipal {
    Any,
    Account(Box<str>),
    Arn(Box<str>),
}

#[derive(Debug, Clone, PartialEq)]
enum CPrincipal {
    Any,
    Set {
        aws: Box<[AwsPrincipal]>,
        service: Box<[Box<str>]>,
        federated: Box<[Box<str>]>,
        canonical: Box<[Box<str>]>,
    },
}

impl CPrincipal {
    fn compile(spec: &PrincipalSpec) -> CPrincipal {
        match spec {
            PrincipalSpec::Any => CPrincipal::Any,
            PrincipalSpec::Map(m) => {
                let get = |k: &str| -> Box<[Box<str>]> {
                    m.iter()
                        .filter(|(t, _)| t == k)
                        .flat_map(|(_, v)| v.iter().map(|s| s.as_str().into()))
                        .collect()
                };
                let aws = m
                    .iter()
                    .filter(|(t, _)| t == "AWS")
                    .flat_map(|(_, v)| v.iter())
                    .map(|p| {
                        if p == "*" {
                            AwsPrincipal::Any
                        } else if p.len() == 12 && p.bytes().all(|b| b.is_ascii_digit()) {
                            AwsPrincipal::Account(p.as_str().into())
                        } else if let Some(acct) = root_arn_account(p) {
                            AwsPrincipal::Account(acct.into())
                        } else {
                            AwsPrincipal::Arn(p.as_str().into())
                        }
                    })
                    .collect();
                CPrincipal::Set {
                    aws,
                    service: get("Service"),
                    federated: get("Federated"),
                    canonical: get("CanonicalUser"),
                }
            }
        }
    }

    fn matches(&self, p: &Principal) -> Option<Grant> {
        let CPrincipal::Set {
            aws,
            service,
            federated,
            canonical,
        } = self
        else {
            return Some(Grant::Direct);
        };
        let mut best = None;
        let authenticated = !matches!(p.kind, PrincipalKind::Anonymous | PrincipalKind::Service);
        for a in aws.iter() {
            let g = match a {
                AwsPrincipal::Any => Some(Grant::Direct),
                AwsPrincipal::Account(acct) if authenticated && **acct == *p.account => {
                    if p.kind == PrincipalKind::Root {
                        Some(Grant::Direct)
                    } else {
                        Some(Grant::Account)
                    }
                }
                AwsPrincipal::Arn(arn) if authenticated => {
                    if matches!(p.kind, PrincipalKind::RoleSession | PrincipalKind::Role)
                        && p.role_arn.as_deref() == Some(arn)
                    {
                        Some(Grant::Role)
                    } else if **arn == *p.arn {
                        Some(Grant::Direct)
                    } else {
                        None
                    }
                }
                _ => None,
            };
            best = best.max(g);
        }
        if best == Some(Grant::Direct) {
            return best;
        }
        let direct = (p.kind == PrincipalKind::Service && service.iter().any(|s| **s == *p.arn))
            || federated.iter().any(|f| **f == *p.arn)
            || p.canonical_user
                .as_deref()
                .is_some_and(|c| canonical.iter().any(|x| **x == *c));
        if direct { Some(Grant::Direct) } else { best }
    }
}

fn root_arn_account(p: &str) -> Option<&str> {
    let rest = p.strip_prefix("arn:")?;
    let mut it = rest.splitn(5, ':');
    let (_, svc, _, acct, res) = (it.next()?, it.next()?, it.next()?, it.next()?, it.next()?);
    (svc == "iam" && res == "root").then_some(acct)
}

/// A compiled statement.
///
/// Invariant: `patterns` holds the `n_actions` action patterns (lower-cased), then
/// the resource patterns (none when `has_resources` is false): one allocation.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CStatement {
    pub(crate) sid: Option<Box<str>>,
    pub(crate) effect: Effect,
    not_principal: bool,
    not_action: bool,
    has_resources: bool,
    not_resource: bool,
    n_actions: u32,
    principal: Option<Box<CPrincipal>>,
    patterns: Box<[Pattern]>,
    conditions: Box<[Condition]>,
}

/// One policy document in evaluation form. Immutable, `Send + Sync`: share it as
/// `Arc<CompiledPolicy>`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompiledPolicy {
    id: Box<str>,
    policy_type: PolicyType,
    pub(crate) statements: Box<[CStatement]>,
}

impl CompiledPolicy {
    /// Compiles a parsed policy; `id` names it in decisions (a policy ARN or name).
    pub fn new(policy: &Policy, id: impl Into<Box<str>>) -> CompiledPolicy {
        let vars = policy.version == Version::V2012_10_17;
        let statements = policy
            .statements
            .iter()
            .map(|s| CStatement {
                sid: s.sid.as_deref().map(Box::from),
                effect: s.effect,
                principal: s
                    .principal
                    .as_ref()
                    .map(|p| Box::new(CPrincipal::compile(p))),
                not_principal: s.not_principal,
                not_action: s.not_action,
                has_resources: s.resources.is_some(),
                not_resource: s.not_resource,
                n_actions: s.actions.len() as u32,
                patterns: s
                    .actions
                    .iter()
                    .map(|a| compile_action(a))
                    .chain(
                        s.resources
                            .iter()
                            .flatten()
                            .map(|r| Pattern::compile(r, true, vars, false)),
                    )
                    .collect(),
                conditions: s
                    .conditions
                    .iter()
                    .filter_map(|c| {
                        Operator::parse(&c.operator)
                            .map(|op| Condition::compile(op, &c.key, &c.values, vars))
                    })
                    .collect(),
            })
            .collect();
        CompiledPolicy {
            id: id.into(),
            policy_type: policy.policy_type,
            statements,
        }
    }

    /// Parses and compiles in one step.
    pub fn parse(json: &str, ty: PolicyType, id: impl Into<Box<str>>) -> Result<Self, PolicyError> {
        Ok(Self::new(&crate::policy::parse(json, ty)?, id))
    }

    pub fn id(&self) -> &str {
        &self.id
    }
    pub fn policy_type(&self) -> PolicyType {
        self.policy_type
    }
    pub fn statement_count(&self) -> usize {
        self.statements.len()
    }

    /// Approximate heap bytes held by this compiled policy.
    pub fn approx_size(&self) -> usize {
        use std::mem::size_of;
        let pat = |p: &Pattern| size_of::<Pattern>() + pattern_heap(p);
        // Arc header + the policy + the id's text.
        let mut n = 16 + size_of::<Self>() + self.id.len();
        for s in self.statements.iter() {
            n += size_of::<CStatement>() + s.sid.as_ref().map_or(0, |s| s.len());
            n += s.principal.as_ref().map_or(0, |_| size_of::<CPrincipal>());
            n += s.patterns.iter().map(pat).sum::<usize>();
            if let Some(CPrincipal::Set {
                aws,
                service,
                federated,
                canonical,
            }) = s.principal.as_deref()
            {
                n += aws.len() * size_of::<AwsPrincipal>()
                    + aws
                        .iter()
                        .map(|a| match a {
                            AwsPrincipal::Any => 0,
                            AwsPrincipal::Account(x) | AwsPrincipal::Arn(x) => x.len(),
                        })
                        .sum::<usize>();
                for l in [service, federated, canonical] {
                    n += l.iter().map(|x| x.len() + 16).sum::<usize>();
                }
            }
            for c in s.conditions.iter() {
                n += size_of::<Condition>() + crate::condition::values_heap(&c.values);
            }
        }
        n
    }
}

/// Actions are case-insensitive; a wildcard in the service prefix is not one (the
/// action is then taken literally and matches no real action).
fn compile_action(a: &str) -> Pattern {
    match a.split_once(':') {
        Some((svc, _)) if svc.contains(['*', '?']) => Pattern::Exact(a.to_ascii_lowercase().into()),
        _ => Pattern::compile(a, true, false, true),
    }
}

pub(crate) fn pattern_heap(p: &Pattern) -> usize {
    match p {
        Pattern::Any => 0,
        Pattern::Exact(s) | Pattern::Prefix(s) => s.len(),
        Pattern::Glob(t) | Pattern::Template(t) => t
            .iter()
            .map(|t| {
                std::mem::size_of_val(t)
                    + match t {
                        crate::pattern::Tok::Lit(s) => s.len(),
                        _ => 8,
                    }
            })
            .sum(),
    }
}

impl CStatement {
    pub(crate) fn actions(&self) -> &[Pattern] {
        &self.patterns[..self.n_actions as usize]
    }
    fn resources(&self) -> Option<&[Pattern]> {
        self.has_resources
            .then(|| &self.patterns[self.n_actions as usize..])
    }
    /// Whether matching this statement looks at the request's condition keys: it has a
    /// condition, or a policy variable (`${aws:username}`) in a resource.
    fn reads_context(&self) -> bool {
        !self.conditions.is_empty()
            || self
                .resources()
                .is_some_and(|rs| rs.iter().any(|p| matches!(p, Pattern::Template(_))))
    }
    fn action_matches(&self, action: &str) -> bool {
        let hit = self
            .actions()
            .iter()
            .any(|p| p.matches(action, &crate::pattern::NoVars));
        hit != self.not_action
    }

    /// Does this statement apply to `req`? Returns the grant kind (always
    /// `Direct` for statements without a principal or with `NotPrincipal`).
    ///
    /// `NotPrincipal` exempts only a caller it names itself (its own ARN, `*`, its
    /// service or federated id; the account for the root user): naming a session's role
    /// or a user's account does not exempt the session or the user (the IAM User
    /// Guide's "NotPrincipal with Deny": AWS validates the account, then the role, then
    /// the session). A caller with a permissions boundary (`bounded`) is never exempt
    /// ("The NotPrincipal element with a Deny effect will always deny any IAM principal
    /// that has a permissions boundary policy attached").
    pub(crate) fn applies(
        &self,
        req: &Request<'_>,
        action: &str,
        check_action: bool,
        bounded: bool,
    ) -> Option<Grant> {
        if check_action && !self.action_matches(action) {
            return None;
        }
        if let Some(rs) = self.resources() {
            let r: &dyn Resolver = req;
            let hit = rs.iter().any(|p| p.matches(&req.resource.arn, r));
            if hit == self.not_resource {
                return None;
            }
        }
        let grant = match &self.principal {
            None => Grant::Direct,
            Some(p) if self.not_principal => {
                let named = match p.matches(req.principal) {
                    Some(Grant::Direct) => true,
                    // A role (not a session of it) named by its own ARN.
                    Some(Grant::Role) => req.principal.kind == PrincipalKind::Role,
                    _ => false,
                };
                if named && !bounded {
                    return None;
                }
                Grant::Direct
            }
            Some(p) => p.matches(req.principal)?,
        };
        if self.conditions.iter().all(|c| c.eval(req)) {
            Some(grant)
        } else {
            None
        }
    }
}

/// FxHash: a fast non-cryptographic hasher for the action index (keys come from
/// policies the server already accepted, not from attackers choosing collisions
/// per request).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);
impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn finish(&self) -> u64 {
        self.0
    }
}
type FxMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A statement's address in a set: (policy index, statement index).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Ref {
    pub(crate) policy: u32,
    pub(crate) stmt: u32,
}

/// The statements of a set under one index key: denies first, then allows.
#[derive(Debug, Default, Clone)]
pub(crate) struct Bucket {
    refs: Box<[Ref]>,
    n_deny: u32,
}

impl Bucket {
    pub(crate) fn get(&self, effect: Effect) -> &[Ref] {
        let (deny, allow) = self.refs.split_at(self.n_deny as usize);
        match effect {
            Effect::Deny => deny,
            Effect::Allow => allow,
        }
    }
    fn heap(&self) -> usize {
        self.refs.len() * std::mem::size_of::<Ref>()
    }
}

/// A bucket while the set is being built.
#[derive(Default)]
struct BucketBuilder {
    deny: Vec<Ref>,
    allow: Vec<Ref>,
}

impl BucketBuilder {
    fn push(&mut self, effect: Effect, r: Ref) {
        let list = match effect {
            Effect::Deny => &mut self.deny,
            Effect::Allow => &mut self.allow,
        };
        if list.last() != Some(&r) {
            list.push(r);
        }
    }
    fn build(mut self) -> Bucket {
        let n_deny = self.deny.len() as u32;
        self.deny.append(&mut self.allow);
        Bucket {
            refs: self.deny.into_boxed_slice(),
            n_deny,
        }
    }
}

fn key_hash(key: &str) -> u64 {
    let mut h = FxHasher::default();
    h.write(key.as_bytes());
    h.finish()
}

/// Index keys as hashes, sorted for binary search: 32 bytes an entry, no slack.
/// Two keys with the same hash never share an entry: the later one's statements go
/// to `always`, where the action is re-checked.
#[derive(Debug, Default, Clone)]
struct HashIndex(Box<[(u64, Bucket)]>);

impl HashIndex {
    fn build(m: FxMap<Box<str>, BucketBuilder>, always: &mut BucketBuilder) -> HashIndex {
        let mut seen: FxMap<u64, Box<str>> = FxMap::default();
        let mut out = Vec::with_capacity(m.len());
        let mut keys: Vec<_> = m.into_iter().collect();
        keys.sort_by(|a, b| a.0.cmp(&b.0));
        for (k, b) in keys {
            let h = key_hash(&k);
            if seen.get(&h).is_some_and(|other| *other != k) {
                for r in b.deny {
                    always.push(Effect::Deny, r);
                }
                for r in b.allow {
                    always.push(Effect::Allow, r);
                }
                continue;
            }
            seen.insert(h, k);
            out.push((h, b.build()));
        }
        out.sort_by_key(|(h, _)| *h);
        HashIndex(out.into_boxed_slice())
    }
    fn get(&self, h: u64) -> Option<&Bucket> {
        if self.0.is_empty() {
            return None;
        }
        self.0
            .binary_search_by_key(&h, |(k, _)| *k)
            .ok()
            .map(|i| &self.0[i].1)
    }
    fn heap(&self) -> usize {
        self.0
            .iter()
            .map(|(_, b)| std::mem::size_of::<(u64, Bucket)>() + b.heap())
            .sum()
    }
}

/// Several compiled policies of one kind (a principal's identity policies, one SCP
/// level, a resource policy, ...) with an action index over all their statements.
/// Build it once when the cache loads, share it as `Arc<PolicySet>`.
#[derive(Debug, Clone, Default)]
pub struct PolicySet {
    policies: Box<[Arc<CompiledPolicy>]>,
    /// Actions without wildcard, lower-cased `service:action`.
    exact: HashIndex,
    /// Wildcard actions, by lower-cased service prefix; the statement re-checks.
    wild: HashIndex,
    /// `*`, `NotAction`, and actions the index cannot key.
    always: Bucket,
    /// Some statement reads the request's condition keys ([`PolicySet::reads_context`]).
    reads_context: bool,
}

/// A request's action, lower-cased and hashed once for every set's index.
pub(crate) struct ActionKey<'a> {
    pub(crate) lower: &'a str,
    hash: u64,
    service_hash: u64,
}

impl<'a> ActionKey<'a> {
    pub(crate) fn new(lower: &'a str) -> Self {
        let svc = lower.split_once(':').map_or("", |(s, _)| s);
        ActionKey {
            lower,
            hash: key_hash(lower),
            service_hash: key_hash(svc),
        }
    }
}

/// The candidates of a set for one action, in the order they are checked.
pub(crate) struct Candidates<'s> {
    pub(crate) exact: Option<&'s Bucket>,
    pub(crate) wild: Option<&'s Bucket>,
    pub(crate) always: &'s Bucket,
}

impl PolicySet {
    /// Indexes `policies`.
    pub fn new(policies: Vec<Arc<CompiledPolicy>>) -> PolicySet {
        let mut exact: FxMap<Box<str>, BucketBuilder> = FxMap::default();
        let mut wild: FxMap<Box<str>, BucketBuilder> = FxMap::default();
        let mut always = BucketBuilder::default();
        for (pi, p) in policies.iter().enumerate() {
            for (si, s) in p.statements.iter().enumerate() {
                let r = Ref {
                    policy: pi as u32,
                    stmt: si as u32,
                };
                if s.not_action {
                    always.push(s.effect, r);
                    continue;
                }
                for a in s.actions() {
                    match a {
                        Pattern::Exact(e) => exact.entry(e.clone()).or_default().push(s.effect, r),
                        _ => match wild_service(a) {
                            Some(svc) => wild.entry(svc.into()).or_default().push(s.effect, r),
                            None => always.push(s.effect, r),
                        },
                    }
                }
            }
        }
        let exact = HashIndex::build(exact, &mut always);
        let wild = HashIndex::build(wild, &mut always);
        let reads_context = policies
            .iter()
            .any(|p| p.statements.iter().any(CStatement::reads_context));
        PolicySet {
            policies: policies.into(),
            exact,
            wild,
            always: always.build(),
            reads_context,
        }
    }

    /// Whether evaluating this set can look at the request's [`Context`]: some
    /// statement has a condition or a policy variable in a resource. A request whose
    /// policies all say no is decided the same with an empty context, so the caller
    /// need not build one.
    ///
    /// [`Context`]: crate::Context
    pub fn reads_context(&self) -> bool {
        self.reads_context
    }

    /// A set of one policy.
    pub fn single(policy: Arc<CompiledPolicy>) -> PolicySet {
        PolicySet::new(vec![policy])
    }

    pub fn policies(&self) -> &[Arc<CompiledPolicy>] {
        &self.policies
    }
    pub fn is_empty(&self) -> bool {
        self.policies.is_empty()
    }

    pub(crate) fn candidates(&self, action: &ActionKey<'_>) -> Candidates<'_> {
        Candidates {
            exact: self.exact.get(action.hash),
            wild: self.wild.get(action.service_hash),
            always: &self.always,
        }
    }

    pub(crate) fn stmt(&self, r: Ref) -> (&CompiledPolicy, &CStatement) {
        let p = &self.policies[r.policy as usize];
        (p, &p.statements[r.stmt as usize])
    }

    /// Approximate heap bytes: the policies plus the index.
    pub fn approx_size(&self) -> usize {
        self.policies.len() * std::mem::size_of::<Arc<CompiledPolicy>>()
            + self.policies.iter().map(|p| p.approx_size()).sum::<usize>()
            + self.exact.heap()
            + self.wild.heap()
            + self.always.heap()
    }
}

/// The service prefix of a wildcard action, when its literal text reaches the `:`.
fn wild_service(p: &Pattern) -> Option<&str> {
    let literal: &str = match p {
        Pattern::Prefix(l) => l,
        Pattern::Glob(t) => match t.first() {
            Some(crate::pattern::Tok::Lit(l)) => l,
            _ => return None,
        },
        _ => return None,
    };
    literal
        .split_once(':')
        .map(|(s, _)| s)
        .filter(|s| !s.is_empty())
}
