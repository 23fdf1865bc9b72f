//! Who is calling: the principal that authenticated a request, as the policy engine,
//! `sts:GetCallerIdentity` and the audit trail's `userIdentity` see it.

use std::sync::Arc;

use zeroize::Zeroizing;

/// What kind of principal made a call (CloudTrail's `userIdentity.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrincipalType {
    Root,
    IamUser,
}

impl PrincipalType {
    /// The name CloudTrail gives this kind in `userIdentity.type`.
    pub fn cloudtrail_name(self) -> &'static str {
        match self {
            PrincipalType::Root => "Root",
            PrincipalType::IamUser => "IAMUser",
        }
    }
}

/// An authenticated principal.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Caller {
    pub principal_type: PrincipalType,
    pub account_id: String,
    pub arn: String,
    /// `aws:userid`: the unique id of a user, the account id for the root user.
    pub user_id: String,
    /// `aws:username`, for IAM users.
    pub user_name: Option<String>,
    /// The access key the request was signed with.
    pub access_key_id: Option<String>,
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
            access_key_id,
        }
    }
}

/// What the server needs to authenticate a request signed with one access key: the
/// secret to check the signature with, and the principal it stands for.
pub struct Credentials {
    pub secret_access_key: Zeroizing<String>,
    pub caller: Arc<Caller>,
}
