//! The request side: who asks ([`Principal`]), for what ([`Resource`]), with which
//! condition keys ([`Context`]), bundled as a borrowed [`Request`].
//!
//! The server keeps `Principal`s in its cache and builds a `Context` per call; a
//! `Request` only borrows them. Condition key names are case-insensitive: the
//! context stores them lower-cased once, at insertion. Keys that follow from the
//! principal and resource (`aws:username`, `aws:PrincipalArn`, `aws:PrincipalTag/*`,
//! `aws:ResourceTag/*`, `aws:ResourceAccount`, ...) need not be put in the context:
//! they are derived on lookup, and an explicit context entry wins.

/// Which kind of identity makes the request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PrincipalKind {
    /// An IAM user (`arn:aws:iam::ACCOUNT:user/NAME`).
    User,
    /// A role, identified by its role ARN (a session of it whose name is unknown).
    Role,
    /// A role session (`arn:aws:sts::ACCOUNT:assumed-role/ROLE/SESSION`).
    RoleSession,
    /// The account root user.
    Root,
    /// A federated user session (`arn:aws:sts::ACCOUNT:federated-user/NAME`).
    FederatedUser,
    /// An AWS service principal (`s3.amazonaws.com`); its `arn` is the service name.
    Service,
    /// An unauthenticated request.
    Anonymous,
}

impl PrincipalKind {
    /// Parses the REQUEST.json spelling (`user`, `role`, `role-session`, ...).
    pub fn from_name(s: &str) -> Option<Self> {
        Some(match s {
            "user" => Self::User,
            "role" => Self::Role,
            "role-session" => Self::RoleSession,
            "root" => Self::Root,
            "federated-user" => Self::FederatedUser,
            "service" => Self::Service,
            "anonymous" => Self::Anonymous,
            _ => return None,
        })
    }
    /// The value of `aws:PrincipalType`.
    pub fn aws_principal_type(self) -> &'static str {
        match self {
            Self::User => "User",
            Self::Role | Self::RoleSession => "AssumedRole",
            Self::Root => "Account",
            Self::FederatedUser => "FederatedUser",
            Self::Service => "Service",
            Self::Anonymous => "Anonymous",
        }
    }
    /// Subject to identity-based policies and permissions boundaries.
    pub fn is_iam_identity(self) -> bool {
        matches!(
            self,
            Self::User | Self::Role | Self::RoleSession | Self::FederatedUser
        )
    }
}

/// Tags as key/value pairs; keys are looked up case-insensitively, as IAM does.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tags(pub Vec<(String, String)>);

impl Tags {
    /// The value of tag `key` (ASCII case-insensitive).
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v.as_str())
    }
    /// Adds or replaces a tag.
    pub fn insert(&mut self, key: impl Into<String>, value: impl Into<String>) {
        let key = key.into();
        let value = value.into();
        match self
            .0
            .iter_mut()
            .find(|(k, _)| k.eq_ignore_ascii_case(&key))
        {
            Some(e) => e.1 = value,
            None => self.0.push((key, value)),
        }
    }
}

/// Who makes the request. Built once per identity and cached by the server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Principal {
    /// The caller's ARN (the session ARN for role sessions; the service name for
    /// services; empty for anonymous).
    pub arn: String,
    /// The caller's account id.
    pub account: String,
    pub kind: PrincipalKind,
    /// `aws:PrincipalTag/*`.
    pub tags: Tags,
    /// Service-linked roles are exempt from SCPs.
    pub is_service_linked_role: bool,
    /// For role sessions: the role's ARN (`aws:PrincipalArn`). Derived from a
    /// session ARN by [`Principal::new`] when not given.
    pub role_arn: Option<String>,
    /// For role sessions: the session name.
    pub session_name: Option<String>,
    /// `aws:userid`, when known.
    pub user_id: Option<String>,
    /// The canonical user id, for `CanonicalUser` principals.
    pub canonical_user: Option<String>,
}

impl Principal {
    /// A principal of `kind` with `arn` in `account`; derives the role ARN and
    /// session name of a role session from its ARN.
    pub fn new(kind: PrincipalKind, arn: impl Into<String>, account: impl Into<String>) -> Self {
        let arn = arn.into();
        let (mut role_arn, mut session_name) = (None, None);
        match kind {
            PrincipalKind::Role => role_arn = Some(arn.clone()),
            PrincipalKind::RoleSession => {
                if let Some((role, session)) = split_session_arn(&arn) {
                    role_arn = Some(role);
                    session_name = Some(session);
                }
            }
            _ => {}
        }
        Principal {
            arn,
            account: account.into(),
            kind,
            tags: Tags::default(),
            is_service_linked_role: false,
            role_arn,
            session_name,
            user_id: None,
            canonical_user: None,
        }
    }

    /// `aws:PrincipalArn`: the role ARN for role sessions, else the ARN.
    pub fn principal_arn(&self) -> &str {
        match self.kind {
            PrincipalKind::RoleSession | PrincipalKind::Role => {
                self.role_arn.as_deref().unwrap_or(&self.arn)
            }
            _ => &self.arn,
        }
    }

    /// `aws:username`: the user's friendly name (IAM users only).
    pub fn username(&self) -> Option<&str> {
        if self.kind != PrincipalKind::User {
            return None;
        }
        self.arn.rsplit('/').next().filter(|s| !s.is_empty())
    }
}

/// `arn:PART:sts::ACCT:assumed-role/ROLE/SESSION` -> (`arn:PART:iam::ACCT:role/ROLE`, SESSION).
fn split_session_arn(arn: &str) -> Option<(String, String)> {
    let mut parts = arn.splitn(6, ':');
    let (_, partition, _, _, account, res) = (
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
        parts.next()?,
    );
    let rest = res.strip_prefix("assumed-role/")?;
    let (role, session) = rest.rsplit_once('/')?;
    Some((
        format!("arn:{partition}:iam::{account}:role/{role}"),
        session.to_string(),
    ))
}

/// What the request acts on.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Resource {
    /// The resource ARN, or `*` for actions without a resource.
    pub arn: String,
    /// The owning account (empty: the principal's account).
    pub account: String,
    /// `aws:ResourceTag/*`.
    pub tags: Tags,
}

impl Resource {
    pub fn new(arn: impl Into<String>, account: impl Into<String>) -> Self {
        Resource {
            arn: arn.into(),
            account: account.into(),
            tags: Tags::default(),
        }
    }
}

/// A condition key's value in the request: one string, or a set (possibly empty).
/// Values are strings; each operator interprets them (number, date, IP, ...).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ContextValue {
    Single(String),
    Multi(Vec<String>),
}

impl From<&str> for ContextValue {
    fn from(s: &str) -> Self {
        ContextValue::Single(s.to_string())
    }
}
impl From<String> for ContextValue {
    fn from(s: String) -> Self {
        ContextValue::Single(s)
    }
}
impl From<Vec<String>> for ContextValue {
    fn from(v: Vec<String>) -> Self {
        ContextValue::Multi(v)
    }
}
impl From<bool> for ContextValue {
    fn from(b: bool) -> Self {
        ContextValue::Single(if b { "true" } else { "false" }.to_string())
    }
}

/// The request's condition keys. Names are stored lower-cased; a small vector
/// (requests carry a handful of keys) searched linearly.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Context {
    entries: Vec<(Box<str>, ContextValue)>,
}

impl Context {
    pub fn new() -> Self {
        Self::default()
    }
    /// Sets `key` (any case) to `value`, replacing a previous value.
    pub fn insert(&mut self, key: &str, value: impl Into<ContextValue>) {
        let lower = key.to_ascii_lowercase();
        let value = value.into();
        match self.entries.iter_mut().find(|(k, _)| **k == *lower) {
            Some(e) => e.1 = value,
            None => self.entries.push((lower.into_boxed_str(), value)),
        }
    }
    /// Builder form of [`Context::insert`].
    pub fn with(mut self, key: &str, value: impl Into<ContextValue>) -> Self {
        self.insert(key, value);
        self
    }
    /// The value of `key` (any case).
    pub fn get(&self, key: &str) -> Option<&ContextValue> {
        self.entries
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }
    pub(crate) fn get_lower(&self, lower: &str) -> Option<&ContextValue> {
        self.entries
            .iter()
            .find(|(k, _)| **k == *lower)
            .map(|(_, v)| v)
    }
    /// `prefix` (lower-case) followed by `rest` in any case, without allocating.
    fn get_prefixed(&self, prefix: &str, rest: &str) -> Option<&ContextValue> {
        self.entries
            .iter()
            .find(|(k, _)| {
                k.strip_prefix(prefix)
                    .is_some_and(|r| r.eq_ignore_ascii_case(rest))
            })
            .map(|(_, v)| v)
    }
    pub fn len(&self) -> usize {
        self.entries.len()
    }
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

/// One authorization request, borrowing everything.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    pub principal: &'a Principal,
    /// `service:Action`, any case.
    pub action: &'a str,
    pub resource: &'a Resource,
    pub context: &'a Context,
}

/// The compiled form of a condition key name or policy variable.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) enum KeyRef {
    Username,
    Userid,
    PrincipalArn,
    PrincipalAccount,
    PrincipalType,
    PrincipalIsAwsService,
    PrincipalServiceName,
    ResourceAccount,
    /// Tag key as written.
    PrincipalTag(Box<str>),
    ResourceTag(Box<str>),
    /// Any other key, lower-cased.
    Other(Box<str>),
}

impl KeyRef {
    pub(crate) fn parse(name: &str) -> KeyRef {
        let lower = name.to_ascii_lowercase();
        if let Some(t) = lower.strip_prefix("aws:principaltag/") {
            return KeyRef::PrincipalTag(name[name.len() - t.len()..].into());
        }
        if let Some(t) = lower.strip_prefix("aws:resourcetag/") {
            return KeyRef::ResourceTag(name[name.len() - t.len()..].into());
        }
        match lower.as_str() {
            "aws:username" => KeyRef::Username,
            "aws:userid" => KeyRef::Userid,
            "aws:principalarn" => KeyRef::PrincipalArn,
            "aws:principalaccount" => KeyRef::PrincipalAccount,
            "aws:principaltype" => KeyRef::PrincipalType,
            "aws:principalisawsservice" => KeyRef::PrincipalIsAwsService,
            "aws:principalservicename" => KeyRef::PrincipalServiceName,
            "aws:resourceaccount" => KeyRef::ResourceAccount,
            _ => KeyRef::Other(lower.into_boxed_str()),
        }
    }

    /// The lower-cased key name, as the context stores it.
    pub(crate) fn lower_name(&self) -> std::borrow::Cow<'_, str> {
        use std::borrow::Cow::*;
        match self {
            KeyRef::Username => Borrowed("aws:username"),
            KeyRef::Userid => Borrowed("aws:userid"),
            KeyRef::PrincipalArn => Borrowed("aws:principalarn"),
            KeyRef::PrincipalAccount => Borrowed("aws:principalaccount"),
            KeyRef::PrincipalType => Borrowed("aws:principaltype"),
            KeyRef::PrincipalIsAwsService => Borrowed("aws:principalisawsservice"),
            KeyRef::PrincipalServiceName => Borrowed("aws:principalservicename"),
            KeyRef::ResourceAccount => Borrowed("aws:resourceaccount"),
            KeyRef::PrincipalTag(t) => {
                Owned(format!("aws:principaltag/{}", t.to_ascii_lowercase()))
            }
            KeyRef::ResourceTag(t) => Owned(format!("aws:resourcetag/{}", t.to_ascii_lowercase())),
            KeyRef::Other(o) => Borrowed(o),
        }
    }
}

/// A key's value as seen by an operator.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Val<'a> {
    One(&'a str),
    Many(&'a [String]),
}

impl<'a> Val<'a> {
    pub(crate) fn is_empty(&self) -> bool {
        matches!(self, Val::Many(v) if v.is_empty())
    }
    pub(crate) fn any(&self, mut f: impl FnMut(&'a str) -> bool) -> bool {
        match *self {
            Val::One(s) => f(s),
            Val::Many(v) => v.iter().any(|s| f(s)),
        }
    }
    pub(crate) fn all(&self, mut f: impl FnMut(&'a str) -> bool) -> bool {
        match *self {
            Val::One(s) => f(s),
            Val::Many(v) => v.iter().all(|s| f(s)),
        }
    }
}

impl<'a> Request<'a> {
    /// Looks a condition key up: the explicit context first, then what follows from
    /// the principal and resource.
    pub(crate) fn lookup(&self, key: &KeyRef) -> Option<Val<'a>> {
        let explicit = match key {
            KeyRef::Other(o) => self.context.get_lower(o),
            KeyRef::PrincipalTag(t) => self.context.get_prefixed("aws:principaltag/", t),
            KeyRef::ResourceTag(t) => self.context.get_prefixed("aws:resourcetag/", t),
            _ if self.context.is_empty() => None,
            _ => self.context.get_lower(&key.lower_name()),
        };
        if let Some(v) = explicit {
            return Some(match v {
                ContextValue::Single(s) => Val::One(s),
                ContextValue::Multi(m) => Val::Many(m),
            });
        }
        let p = self.principal;
        let one = |s: &'a str| Some(Val::One(s));
        match key {
            KeyRef::Other(_) => None,
            KeyRef::Username => p.username().map(Val::One),
            KeyRef::Userid => match (&p.user_id, p.kind) {
                (Some(u), _) => one(u),
                (None, PrincipalKind::Root) => one(&p.account),
                (None, PrincipalKind::Anonymous) => one("anonymous"),
                _ => None,
            },
            KeyRef::PrincipalArn => match p.kind {
                PrincipalKind::Anonymous | PrincipalKind::Service => None,
                _ => one(p.principal_arn()),
            },
            KeyRef::PrincipalAccount => match p.kind {
                PrincipalKind::Anonymous | PrincipalKind::Service => None,
                _ => one(&p.account),
            },
            KeyRef::PrincipalType => one(p.kind.aws_principal_type()),
            KeyRef::PrincipalIsAwsService => one(if p.kind == PrincipalKind::Service {
                "true"
            } else {
                "false"
            }),
            KeyRef::PrincipalServiceName => match p.kind {
                PrincipalKind::Service => one(&p.arn),
                _ => None,
            },
            KeyRef::ResourceAccount => {
                let r = &self.resource.account;
                if r.is_empty() { None } else { one(r) }
            }
            KeyRef::PrincipalTag(t) => p.tags.get(t).map(Val::One),
            KeyRef::ResourceTag(t) => self.resource.tags.get(t).map(Val::One),
        }
    }
}

impl crate::pattern::Resolver for Request<'_> {
    fn resolve(&self, key: &KeyRef) -> Option<&str> {
        match self.lookup(key)? {
            Val::One(s) => Some(s),
            Val::Many(_) => None,
        }
    }
}
