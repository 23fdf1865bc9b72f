//! Who is calling: the principal that authenticated a request, as the policy engine,
//! `sts:GetCallerIdentity` and the audit trail's `userIdentity` see it.

use std::sync::Arc;

use rampart_policy::PolicySet;
use zeroize::Zeroizing;

use crate::records::{Role, Session, Tag, User};

/// What kind of principal made a call (CloudTrail's `userIdentity.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    Root,
    IamUser,
    AssumedRole,
    FederatedUser,
    /// An unsigned AssumeRoleWithWebIdentity call: who it is, the token says.
    WebIdentityUser,
    /// An unsigned AssumeRoleWithSAML call: who it is, the assertion says.
    SamlUser,
}

impl PrincipalType {
    /// The name CloudTrail gives this kind in `userIdentity.type`.
    pub fn cloudtrail_name(self) -> &'static str {
        match self {
            PrincipalType::Root => "Root",
            PrincipalType::IamUser => "IAMUser",
            PrincipalType::AssumedRole => "AssumedRole",
            PrincipalType::FederatedUser => "FederatedUser",
            PrincipalType::WebIdentityUser => "WebIdentityUser",
            PrincipalType::SamlUser => "SAMLUser",
        }
    }
}

/// An authenticated principal.
#[derive(Debug, Clone)]
pub struct Caller {
    pub principal_type: PrincipalType,
    pub account_id: String,
    /// The user's, root's, or session's ARN (`…:assumed-role/ROLE/SESSION`).
    pub arn: String,
    /// `aws:userid`: a user's unique id, the account id for root, `ROLEID:SESSION` for
    /// a role session, `ACCOUNT:NAME` for a federated user.
    pub user_id: String,
    /// `aws:username`, for IAM users; for federated users, the user that federated.
    pub user_name: Option<String>,
    /// For role sessions: the role's name and ARN.
    pub role: Option<(String, String)>,
    /// `aws:PrincipalTag/*`: the user's or role's tags, overridden by session tags.
    pub tags: Vec<Tag>,
    /// The access key the request was signed with.
    pub access_key_id: Option<String>,
    /// Present when the caller signed with STS temporary credentials.
    pub session: Option<Arc<SessionContext>>,
}

/// What temporary credentials add to a caller.
#[derive(Debug, Clone)]
pub struct SessionContext {
    /// Hex SHA-256 of the session token the request must carry.
    pub token_sha256: String,
    pub issued: i64,
    pub expires: i64,
    /// The session policies (inline and managed, compiled as one set) that narrow the
    /// session; `None` when the session has none.
    pub policies: Option<Arc<PolicySet>>,
    pub transitive_tag_keys: Vec<String>,
    pub source_identity: Option<String>,
    /// When MFA was presented, for `aws:MultiFactorAuthAge`.
    pub mfa_authenticated: Option<i64>,
    pub chained: bool,
}

impl SessionContext {
    /// Whether `token` is this session's token.
    pub fn token_matches(&self, token: &str) -> bool {
        crate::ids::sha256_hex(token.as_bytes()) == self.token_sha256
    }

    pub fn of(session: &Session, policies: Option<Arc<PolicySet>>) -> SessionContext {
        SessionContext {
            token_sha256: session.token_sha256.clone(),
            issued: session.issued,
            expires: session.expires,
            policies,
            transitive_tag_keys: session.transitive_tag_keys.clone(),
            source_identity: session.source_identity.clone(),
            mfa_authenticated: session.mfa_authenticated,
            chained: session.chained,
        }
    }
}

impl Caller {
    /// The root user of `account_id`.
    pub fn root(account_id: &str, access_key_id: Option<String>) -> Caller {
        Caller {
            principal_type: PrincipalType::Root,
            account_id: account_id.to_owned(),
            arn: format!("arn:aws:iam::{account_id}:root"),
            user_id: account_id.to_owned(),
            user_name: None,
            role: None,
            tags: Vec::new(),
            access_key_id,
            session: None,
        }
    }

    /// The caller of an operation AWS serves unsigned (`AssumeRoleWithWebIdentity`,
    /// `AssumeRoleWithSAML`), before its token or assertion is verified: it has no
    /// identity-based permissions and no ARN; `account_id` is where the call is
    /// recorded.
    pub fn unauthenticated(operation: &str, account_id: &str) -> Caller {
        Caller {
            principal_type: if operation == "AssumeRoleWithSAML" {
                PrincipalType::SamlUser
            } else {
                PrincipalType::WebIdentityUser
            },
            account_id: account_id.to_owned(),
            arn: String::new(),
            user_id: String::new(),
            user_name: None,
            role: None,
            tags: Vec::new(),
            access_key_id: None,
            session: None,
        }
    }

    /// An IAM user, signing with a long-term key or a GetSessionToken session.
    pub fn user(
        user: &User,
        access_key_id: Option<String>,
        session: Option<Arc<SessionContext>>,
    ) -> Caller {
        Caller {
            principal_type: PrincipalType::IamUser,
            account_id: user.account_id.clone(),
            arn: user.arn(),
            user_id: user.user_id.clone(),
            user_name: Some(user.user_name.clone()),
            role: None,
            tags: user.tags.clone(),
            access_key_id,
            session,
        }
    }

    /// A session of `role` named `session_name`; its session tags override the
    /// role's tags of the same key (case-insensitively).
    pub fn assumed_role(
        role: &Role,
        session_name: &str,
        session_tags: &[Tag],
        access_key_id: Option<String>,
        session: Arc<SessionContext>,
    ) -> Caller {
        let account = &role.account_id;
        let mut tags: Vec<Tag> = role
            .tags
            .iter()
            .filter(|t| {
                !session_tags
                    .iter()
                    .any(|s| s.key.eq_ignore_ascii_case(&t.key))
            })
            .cloned()
            .collect();
        tags.extend_from_slice(session_tags);
        Caller {
            principal_type: PrincipalType::AssumedRole,
            account_id: account.clone(),
            arn: format!(
                "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
                role.role_name
            ),
            user_id: format!("{}:{session_name}", role.role_id),
            user_name: None,
            role: Some((role.role_name.clone(), role.arn())),
            tags,
            access_key_id,
            session: Some(session),
        }
    }

    /// A federated user `name`, federated by the IAM user `user`.
    pub fn federated(
        user: &User,
        name: &str,
        access_key_id: Option<String>,
        session: Arc<SessionContext>,
    ) -> Caller {
        let account = &user.account_id;
        Caller {
            principal_type: PrincipalType::FederatedUser,
            account_id: account.clone(),
            arn: format!("arn:aws:sts::{account}:federated-user/{name}"),
            user_id: format!("{account}:{name}"),
            user_name: Some(user.user_name.clone()),
            role: None,
            tags: Vec::new(),
            access_key_id,
            session: Some(session),
        }
    }
}

/// What the server needs to authenticate a request signed with one access key: the
/// secret to check the signature with, and the principal it stands for.
pub struct Credentials {
    pub secret_access_key: Zeroizing<String>,
    pub caller: Arc<Caller>,
}
