//! AWS Security Token Service: who a caller is, and temporary credentials.
//!
//! Temporary credentials (`ASIA…`) are stored as [`Session`] records, so every replica
//! accepts them: the secret sealed under the master key, the session token as its
//! SHA-256 only. A session carries exactly the permissions AWS gives it: a role
//! session those of the role (narrowed by session policies), never the caller's own.

use rampart_policy::{PolicyType, policy_size};
use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};
use zeroize::Zeroizing;

use crate::authorize::{self, Permission};
use crate::call::{Call, Outcome, from_canonical, to_canonical};
use crate::caller::PrincipalType;
use crate::error::ServiceError;
use crate::ids::{self, IdPrefix};
use crate::records::{self, Session, SessionPrincipal, Tag};
use crate::view::View;

/// Session durations, in seconds.
pub(crate) const MIN_DURATION: i64 = 900;
const ROLE_CHAINING_MAX: i64 = 3600;
const TOKEN_DEFAULT: i64 = 43_200;
const TOKEN_MAX: i64 = 129_600;
const ROOT_TOKEN_MAX: i64 = 3600;
/// AWS's quotas on session tags and managed session policies.
const SESSION_TAGS: usize = 50;
const SESSION_POLICY_ARNS: usize = 10;
/// How long an expired session's record is kept (answering ExpiredToken) before the
/// next issuance removes it.
const EXPIRED_KEPT: i64 = 86_400;
/// How many expired sessions one issuance removes at most.
const PURGE_BATCH: usize = 100;

/// The STS operations rampart serves.
pub async fn handle(
    operation: &str,
    call: &Call<'_>,
    input: Value,
) -> Result<Outcome, ServiceError> {
    match operation {
        "GetCallerIdentity" => get_caller_identity(call),
        "AssumeRole" => assume_role(call, input),
        "GetSessionToken" => get_session_token(call, from_canonical(input)?),
        "GetFederationToken" => get_federation_token(call, from_canonical(input)?),
        "GetAccessKeyInfo" => get_access_key_info(call, from_canonical(input)?),
        "DecodeAuthorizationMessage" => decode_authorization_message(),
        "AssumeRoleWithWebIdentity" => {
            crate::sts_federation::assume_role_with_web_identity(call, input)
        }
        "AssumeRoleWithSAML" => crate::sts_federation::assume_role_with_saml(call, input),
        _ => Err(ServiceError::not_implemented("sts", operation)),
    }
}

/// Needs no permission: AWS answers it even under an explicit deny.
fn get_caller_identity(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    Ok(Outcome::output(json!({
        "UserId": call.caller.user_id,
        "Account": call.caller.account_id,
        "Arn": call.caller.arn,
    })))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct AssumeRoleInput {
    role_arn: String,
    role_session_name: String,
    #[serde(default)]
    policy_arns: Vec<PolicyArn>,
    policy: Option<String>,
    duration_seconds: Option<i64>,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    transitive_tag_keys: Vec<String>,
    source_identity: Option<String>,
    serial_number: Option<String>,
    token_code: Option<String>,
}

#[derive(Deserialize)]
pub(crate) struct PolicyArn {
    arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetSessionTokenInput {
    duration_seconds: Option<i64>,
    serial_number: Option<String>,
    token_code: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetFederationTokenInput {
    name: String,
    policy: Option<String>,
    #[serde(default)]
    policy_arns: Vec<PolicyArn>,
    duration_seconds: Option<i64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetAccessKeyInfoInput {
    access_key_id: String,
}

/// A session of a role, for a principal its trust policy allows (checked, with the
/// caller's own identity policies, before the handler runs).
fn assume_role(call: &Call<'_>, raw: Value) -> Result<Outcome, ServiceError> {
    let input: AssumeRoleInput = from_canonical(raw.clone())?;
    let view = call.plane.view();
    let caller = call.caller;
    let denied = || {
        ServiceError::AccessDenied(format!(
            "User: {} is not authorized to perform: sts:AssumeRole on resource: {}",
            caller.arn, input.role_arn
        ))
    };
    let role = view.role_by_arn(&input.role_arn).ok_or_else(denied)?;
    let chained = caller.principal_type == PrincipalType::AssumedRole;
    let duration = input.duration_seconds.unwrap_or(3600);
    let limit = if chained {
        ROLE_CHAINING_MAX
    } else {
        role.max_session_duration
    };
    if duration < MIN_DURATION {
        return Err(duration_too_short(duration));
    }
    if duration > limit {
        return Err(ServiceError::Validation(if chained {
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.".to_owned()
        } else {
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned()
        }));
    }
    let mut tags = input.tags.clone();
    let mut transitive = input.transitive_tag_keys.clone();
    if let Some(session) = caller.session.as_ref().filter(|_| chained) {
        // Transitive tags of the calling session pass on, and cannot be overridden.
        for key in &session.transitive_tag_keys {
            if tags.iter().any(|t| t.key.eq_ignore_ascii_case(key)) {
                return Err(ServiceError::modeled(
                    "InvalidParameterValue",
                    format!(
                        "Tag key {key} is transitive from the calling session and cannot be set again."
                    ),
                ));
            }
            if let Some(tag) = caller.tags.iter().find(|t| t.key.eq_ignore_ascii_case(key)) {
                tags.push(tag.clone());
                transitive.push(key.clone());
            }
        }
    }
    check_tags(&tags, &input.transitive_tag_keys)?;
    let permission = |action: &str| Permission {
        action: action.to_owned(),
        resource: input.role_arn.clone(),
    };
    if !input.tags.is_empty() {
        authorize::check(&view, call, "sts", &permission("sts:TagSession"), &raw)?;
    }
    let inherited_source = caller
        .session
        .as_ref()
        .and_then(|s| s.source_identity.clone());
    let source_identity = match (&inherited_source, &input.source_identity) {
        (Some(old), Some(new)) if old != new => {
            return Err(ServiceError::AccessDenied(
                "SourceIdentity cannot be changed once set in a role session.".to_owned(),
            ));
        }
        (_, Some(new)) => {
            authorize::check(
                &view,
                call,
                "sts",
                &permission("sts:SetSourceIdentity"),
                &raw,
            )?;
            Some(new.clone())
        }
        (old, None) => old.clone(),
    };
    let policies = session_policies(&view, input.policy.as_deref(), &input.policy_arns)?;
    let principal = SessionPrincipal::AssumedRole {
        role_name: role.role_name.clone(),
        session_name: input.role_session_name.clone(),
    };
    let mut issued = Issued::new(call, &role.account_id, principal, &role.role_id, duration);
    issued.session.session_policies = policies;
    issued.session.tags = tags;
    issued.session.transitive_tag_keys = transitive;
    issued.session.source_identity = source_identity.clone();
    issued.session.chained = chained;
    issued.session.mfa_authenticated = caller.session.as_ref().and_then(|s| s.mfa_authenticated);
    let mfa_used = crate::iam::mfa::verify_token(
        &view,
        caller,
        input.serial_number.as_deref(),
        input.token_code.as_deref(),
        call.now.timestamp(),
    )?;
    if mfa_used.is_some() {
        issued.session.mfa_authenticated = Some(call.now.timestamp());
    }
    let mut used = role.clone();
    used.last_used = Some((call.now.timestamp(), call.region.to_owned()));
    let mut output = issued.output(&raw)?;
    output["AssumedRoleUser"] = json!({
        "AssumedRoleId": format!("{}:{}", role.role_id, input.role_session_name),
        "Arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", role.account_id, role.role_name, input.role_session_name),
    });
    if let Some(source) = source_identity {
        output["SourceIdentity"] = json!(source);
    }
    let mut mutations = issued.mutations(&view)?;
    mutations.extend(mfa_used);
    mutations.push(Mutation::Put {
        kind: records::IAM_ROLE.to_owned(),
        id: records::entity_id(&used.account_id, &used.role_name),
        value: to_canonical(&used)?,
        expect: Expect::Any,
    });
    Ok(Outcome { output, mutations })
}

/// Temporary credentials for the calling user (or root) itself.
fn get_session_token(
    call: &Call<'_>,
    input: GetSessionTokenInput,
) -> Result<Outcome, ServiceError> {
    let caller = call.caller;
    let principal = match caller.principal_type {
        PrincipalType::IamUser => SessionPrincipal::User {
            user_name: caller.user_name.clone(),
        },
        PrincipalType::Root => SessionPrincipal::User { user_name: None },
        _ => {
            return Err(ServiceError::AccessDenied(
                "Cannot call GetSessionToken with session credentials".to_owned(),
            ));
        }
    };
    let max = if caller.principal_type == PrincipalType::Root {
        ROOT_TOKEN_MAX
    } else {
        TOKEN_MAX
    };
    let duration = token_duration(input.duration_seconds, max)?;
    let view = call.plane.view();
    let mut issued = Issued::for_caller(call, principal, duration);
    // MFA: the code must be one of the calling user's enabled devices'; accepting it
    // uses it up (the device's replay guard moves in the same commit).
    let mfa_used = crate::iam::mfa::verify_token(
        &view,
        caller,
        input.serial_number.as_deref(),
        input.token_code.as_deref(),
        call.now.timestamp(),
    )?;
    if mfa_used.is_some() {
        issued.session.mfa_authenticated = Some(call.now.timestamp());
    }
    let mut mutations = issued.mutations(&view)?;
    mutations.extend(mfa_used);
    Ok(Outcome {
        output: issued.output(&json!({}))?,
        mutations,
    })
}

/// Temporary credentials for a federated user, with at most the calling user's
/// permissions and only what the session policies allow.
fn get_federation_token(
    call: &Call<'_>,
    input: GetFederationTokenInput,
) -> Result<Outcome, ServiceError> {
    let caller = call.caller;
    let Some(user_name) = caller
        .user_name
        .clone()
        .filter(|_| caller.principal_type == PrincipalType::IamUser)
    else {
        return Err(ServiceError::AccessDenied(
            "Only an IAM user can call GetFederationToken.".to_owned(),
        ));
    };
    let duration = token_duration(input.duration_seconds, TOKEN_MAX)?;
    let view = call.plane.view();
    let policies = session_policies(&view, input.policy.as_deref(), &input.policy_arns)?;
    let principal = SessionPrincipal::FederatedUser {
        user_name,
        name: input.name.clone(),
    };
    let mut issued = Issued::for_caller(call, principal, duration);
    issued.session.session_policies = policies;
    issued.session.policy_required = true;
    let mut output = issued.output(&json!({}))?;
    let account = &caller.account_id;
    output["FederatedUser"] = json!({
        "FederatedUserId": format!("{account}:{}", input.name),
        "Arn": format!("arn:aws:sts::{account}:federated-user/{}", input.name),
    });
    Ok(Outcome {
        output,
        mutations: issued.mutations(&view)?,
    })
}

/// The account an access key belongs to.
fn get_access_key_info(
    call: &Call<'_>,
    input: GetAccessKeyInfoInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let id = &input.access_key_id;
    let account = view
        .access_keys
        .get(id)
        .map(|e| e.key.account_id.clone())
        .or_else(|| view.sessions.get(id).map(|e| e.session.account_id.clone()))
        .ok_or_else(|| {
            ServiceError::modeled(
                "InvalidParameterValue",
                format!("The access key ID {id} is not valid."),
            )
        })?;
    Ok(Outcome::output(json!({ "Account": account })))
}

/// Decodes the encoded authorization message some AWS services attach to a denial.
/// No rampart service attaches one (IAM, STS, KMS and Organizations do not in AWS
/// either), so every message is one rampart did not issue, and AWS answers that with
/// InvalidAuthorizationMessageException.
fn decode_authorization_message() -> Result<Outcome, ServiceError> {
    Err(ServiceError::modeled(
        "InvalidAuthorizationMessageException",
        "The error message is not a valid encoded authorization message.",
    ))
}

/// A session being issued, with its secret and token (shown once, in the output).
pub(crate) struct Issued {
    pub(crate) session: Session,
    secret: Zeroizing<String>,
    token: Zeroizing<String>,
}

impl Issued {
    pub(crate) fn new(
        call: &Call<'_>,
        account_id: &str,
        principal: SessionPrincipal,
        principal_id: &str,
        duration: i64,
    ) -> Issued {
        let access_key_id = ids::new_id(IdPrefix::TemporaryAccessKey);
        let secret = Zeroizing::new(ids::new_secret_access_key());
        let token = Zeroizing::new(ids::new_session_token());
        let now = call.now.timestamp();
        let session = Session {
            sealed_secret: call.plane.seal(secret.as_bytes(), access_key_id.as_bytes()),
            token_sha256: ids::sha256_hex(token.as_bytes()),
            access_key_id,
            account_id: account_id.to_owned(),
            principal,
            principal_id: Some(principal_id.to_owned()),
            issued: now,
            expires: now + duration,
            session_policies: Vec::new(),
            policy_required: false,
            tags: Vec::new(),
            transitive_tag_keys: Vec::new(),
            source_identity: None,
            mfa_authenticated: call
                .caller
                .session
                .as_ref()
                .and_then(|s| s.mfa_authenticated),
            chained: false,
        };
        Issued {
            session,
            secret,
            token,
        }
    }

    /// A session of the caller itself (GetSessionToken, GetFederationToken).
    fn for_caller(call: &Call<'_>, principal: SessionPrincipal, duration: i64) -> Issued {
        let caller = call.caller;
        Issued::new(
            call,
            &caller.account_id,
            principal,
            &caller.user_id,
            duration,
        )
    }

    /// `Credentials` (and `PackedPolicySize` when the input passed session policies
    /// or tags).
    pub(crate) fn output(&self, input: &Value) -> Result<Value, ServiceError> {
        let mut output = json!({
            "Credentials": {
                "AccessKeyId": self.session.access_key_id,
                "SecretAccessKey": self.secret.as_str(),
                "SessionToken": self.token.as_str(),
                "Expiration": self.session.expires,
            }
        });
        if input.get("Policy").is_some()
            || input.get("PolicyArns").is_some()
            || input.get("Tags").is_some()
        {
            output["PackedPolicySize"] = json!(packed_size(&self.session));
        }
        Ok(output)
    }

    /// The session record, and the removal of long-expired ones.
    pub(crate) fn mutations(&self, view: &View) -> Result<Vec<Mutation>, ServiceError> {
        let horizon = self.session.issued - EXPIRED_KEPT;
        let mut mutations: Vec<Mutation> = view
            .sessions
            .values()
            .filter(|e| e.session.expires < horizon)
            .take(PURGE_BATCH)
            .map(|e| Mutation::Delete {
                kind: records::STS_SESSION.to_owned(),
                id: e.session.access_key_id.clone(),
                expect: Expect::Any,
            })
            .collect();
        mutations.push(Mutation::Put {
            kind: records::STS_SESSION.to_owned(),
            id: self.session.access_key_id.clone(),
            value: to_canonical(&self.session)?,
            expect: Expect::Absent,
        });
        Ok(mutations)
    }
}

/// The session policies of a request: the inline document (checked as a session
/// policy) and the managed policy ARNs, which must exist.
pub(crate) fn session_policies(
    view: &View,
    policy: Option<&str>,
    arns: &[PolicyArn],
) -> Result<Vec<String>, ServiceError> {
    if arns.len() > SESSION_POLICY_ARNS {
        return Err(ServiceError::Validation(format!(
            "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to {SESSION_POLICY_ARNS}"
        )));
    }
    let mut policies = Vec::new();
    if let Some(document) = policy {
        if policy_size(document) > PolicyType::Session.size_quota() {
            return Err(ServiceError::modeled(
                "PackedPolicyTooLarge",
                "Packed policy consumes more than 100 percent of the allotted size",
            ));
        }
        rampart_policy::parse(document, PolicyType::Session).map_err(|e| {
            ServiceError::modeled("MalformedPolicyDocument", e.message().to_owned())
        })?;
        policies.push(document.to_owned());
    }
    for arn in arns {
        if view.identity.managed(&arn.arn).is_none() {
            return Err(ServiceError::modeled(
                "MalformedPolicyDocument",
                format!("Policy {} does not exist or is not attachable.", arn.arn),
            ));
        }
        policies.push(arn.arn.clone());
    }
    Ok(policies)
}

/// Session tags: at most 50, keys unique, transitive keys among them.
fn check_tags(tags: &[Tag], transitive: &[String]) -> Result<(), ServiceError> {
    if tags.len() > SESSION_TAGS {
        return Err(ServiceError::Validation(format!(
            "1 validation error detected: Value at 'tags' failed to satisfy constraint: Member must have length less than or equal to {SESSION_TAGS}"
        )));
    }
    for (i, tag) in tags.iter().enumerate() {
        if tags[..i]
            .iter()
            .any(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            return Err(ServiceError::modeled(
                "InvalidParameterValue",
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    if let Some(key) = transitive
        .iter()
        .find(|k| !tags.iter().any(|t| t.key.eq_ignore_ascii_case(k)))
    {
        return Err(ServiceError::modeled(
            "InvalidParameterValue",
            format!(
                "The specified transitive tag key must be included in the requested tags: {key}"
            ),
        ));
    }
    Ok(())
}

/// DurationSeconds of GetSessionToken and GetFederationToken.
fn token_duration(seconds: Option<i64>, max: i64) -> Result<i64, ServiceError> {
    let seconds = seconds.unwrap_or(TOKEN_DEFAULT.min(max));
    if seconds < MIN_DURATION {
        return Err(duration_too_short(seconds));
    }
    if seconds > max {
        return Err(ServiceError::Validation(format!(
            "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {max}"
        )));
    }
    Ok(seconds)
}

pub(crate) fn duration_too_short(seconds: i64) -> ServiceError {
    ServiceError::Validation(format!(
        "1 validation error detected: Value '{seconds}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}"
    ))
}

/// How much of the packed session-policy-and-tags allowance a session uses, as the
/// percentage AWS reports.
fn packed_size(session: &Session) -> usize {
    let policies: usize = session
        .session_policies
        .iter()
        .map(|p| policy_size(p))
        .sum();
    let tags: usize = session
        .tags
        .iter()
        .map(|t| t.key.len() + t.value.len())
        .sum();
    (policies + tags) * 100 / PolicyType::Session.size_quota()
}
