//! STS federation: role sessions for identities another party vouches for.
//! `AssumeRoleWithWebIdentity` takes an OpenID Connect ID token (a JWT) issued by an
//! IAM OIDC provider of the role's account.
//!
//! Both calls are unsigned: the server hands them an unauthenticated caller
//! ([`crate::caller::Caller::unauthenticated`]) and nothing is authorized before the
//! handler runs. The handler verifies the proof, then asks the role's trust policy
//! whether the provider (a `Federated` principal) may assume the role, with the
//! claims as condition keys (`HOST/PATH:aud`, `:sub`, `:amr`, `:oaud`). The session
//! is an ordinary role session ([`crate::sts::Issued`]).
//!
//! What is verified, in order (each failure changes nothing):
//! 1. the token is a JWT whose `iss` names an OIDC provider of the role's account
//!    (`InvalidIdentityToken`);
//! 2. its signature verifies (RS256/384/512, PS256/384/512, ES256/384) under a key of
//!    the provider's registered JWKS, picked by `kid` (`InvalidIdentityToken`);
//! 3. `exp` has not passed (`ExpiredTokenException`), `nbf` has (`InvalidIdentityToken`);
//! 4. `aud` (or `azp`) is one of the provider's client ids (`InvalidIdentityToken`);
//! 5. the role exists and its trust policy allows `sts:AssumeRoleWithWebIdentity`
//!    (and `sts:SetSourceIdentity` for a source identity claim) (`AccessDenied`).

use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use rampart_policy::{
    Context, Policies, Principal, PrincipalKind, Request, Resource, ResourcePolicyKind, Tags,
    evaluate,
};
use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::authorize::request_context;
use crate::call::{Call, Outcome, from_canonical, to_canonical};
use crate::error::ServiceError;
use crate::iam::providers::oidc_url;
use crate::records::{self, OidcProvider, Role, SessionPrincipal};
use crate::sts::{self, Issued, PolicyArn};
use crate::view::View;

mod c14n;
mod saml;

/// The asymmetric algorithms STS accepts for ID tokens.
const ALGORITHMS: [Algorithm; 8] = [
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
];

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct WebIdentityInput {
    role_arn: String,
    role_session_name: String,
    web_identity_token: String,
    provider_id: Option<String>,
    #[serde(default)]
    policy_arns: Vec<PolicyArn>,
    policy: Option<String>,
    duration_seconds: Option<i64>,
}

/// A claim that may be one string or a list of strings (`aud`, `amr`).
#[derive(Deserialize, Default, Clone)]
#[serde(untagged)]
enum OneOrMany {
    One(String),
    Many(Vec<String>),
    #[default]
    #[serde(skip)]
    None,
}

impl OneOrMany {
    fn values(&self) -> Vec<String> {
        match self {
            OneOrMany::One(s) => vec![s.clone()],
            OneOrMany::Many(v) => v.clone(),
            OneOrMany::None => Vec::new(),
        }
    }
}

/// The claims STS reads from an ID token.
#[derive(Deserialize, Default)]
struct Claims {
    iss: Option<String>,
    sub: Option<String>,
    #[serde(default)]
    aud: OneOrMany,
    azp: Option<String>,
    #[serde(default)]
    amr: OneOrMany,
    exp: Option<f64>,
    nbf: Option<f64>,
    /// The claim AWS reads a source identity from.
    #[serde(rename = "https://aws.amazon.com/source_identity")]
    source_identity: Option<String>,
}

fn invalid_token(message: impl Into<String>) -> ServiceError {
    ServiceError::modeled("InvalidIdentityToken", message)
}

fn not_a_jwt() -> ServiceError {
    invalid_token(
        "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
    )
}

/// An ID token that passed every check of the provider.
struct Verified<'v> {
    provider: &'v OidcProvider,
    claims: Claims,
    /// The client id the token was issued for (`azp` when it names one, else `aud`).
    audience: String,
}

/// Checks `token` against the OIDC providers of `account` (steps 1-4 above).
fn verify_token<'v>(
    view: &'v View,
    account: &str,
    token: &str,
    now: i64,
) -> Result<Verified<'v>, ServiceError> {
    let header = jsonwebtoken::decode_header(token).map_err(|_| not_a_jwt())?;
    let unverified: Claims = jsonwebtoken::dangerous::insecure_decode::<Claims>(token)
        .map_err(|_| not_a_jwt())?
        .claims;
    let iss = unverified.iss.as_deref().ok_or_else(not_a_jwt)?;
    let provider = view
        .oidc_providers
        .get(&records::oidc_provider_id(account, &oidc_url(iss)))
        .filter(|_| !iss.starts_with("http://"))
        .ok_or_else(|| {
            invalid_token(format!(
                "No OpenIDConnect provider found in your account for {iss}"
            ))
        })?;
    let no_key = || {
        invalid_token(
            "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
        )
    };
    let keys: JwkSet = provider
        .jwks
        .as_deref()
        .and_then(|d| serde_json::from_str(d).ok())
        .ok_or_else(no_key)?;
    if !ALGORITHMS.contains(&header.alg) {
        return Err(invalid_token(format!(
            "The token's signing algorithm {:?} is not supported.",
            header.alg
        )));
    }
    let candidates: Vec<_> = match &header.kid {
        Some(kid) => keys.find(kid).into_iter().collect(),
        None => keys.keys.iter().collect(),
    };
    if candidates.is_empty() {
        return Err(no_key());
    }
    let mut validation = Validation::new(header.alg);
    // Times and audience are checked below, against the call's clock and the
    // provider's client ids, with AWS's errors.
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.required_spec_claims.clear();
    let claims = candidates
        .iter()
        .filter_map(|jwk| DecodingKey::from_jwk(jwk).ok())
        .find_map(|key| jsonwebtoken::decode::<Claims>(token, &key, &validation).ok())
        .ok_or_else(|| invalid_token("The signature of the web identity token is not valid."))?
        .claims;
    let exp = claims
        .exp
        .ok_or_else(|| invalid_token("The web identity token has no exp claim."))?;
    if (now as f64) >= exp {
        return Err(ServiceError::modeled(
            "ExpiredTokenException",
            format!(
                "Token expired: current date/time {now} must be before the expiration date/time {}",
                exp as i64
            ),
        ));
    }
    if let Some(nbf) = claims.nbf
        && (now as f64) < nbf
    {
        return Err(invalid_token(format!(
            "Token is not valid yet: current date/time {now} must be after the not-before date/time {}",
            nbf as i64
        )));
    }
    let audiences = claims.aud.values();
    let audience = claims
        .azp
        .iter()
        .chain(audiences.iter())
        .find(|a| provider.client_ids.contains(a))
        .cloned()
        .ok_or_else(|| invalid_token("Incorrect token audience"))?;
    if claims.sub.as_deref().is_none_or(str::is_empty) {
        return Err(invalid_token("The web identity token has no sub claim."));
    }
    Ok(Verified {
        provider,
        claims,
        audience,
    })
}

/// The account of a role ARN (`arn:aws:iam::ACCOUNT:role/…`).
fn role_account(arn: &str) -> Option<&str> {
    let (account, resource) = arn.strip_prefix("arn:aws:iam::")?.split_once(':')?;
    resource.starts_with("role/").then_some(account)
}

/// Whether the trust policy of `role` allows `action` for the federated principal
/// `provider_arn` with the condition keys of `context`.
fn trust_allows(
    view: &View,
    role: &Role,
    provider_arn: &str,
    action: &str,
    context: &Context,
) -> bool {
    let Some(trust) = view
        .identity
        .trust(&records::entity_id(&role.account_id, &role.role_name))
    else {
        return false;
    };
    // The caller is no IAM identity: only the trust policy can let it in, through a
    // `Federated` principal naming the provider (or `*`).
    let principal = Principal::new(
        PrincipalKind::Anonymous,
        provider_arn,
        role.account_id.as_str(),
    );
    let mut resource = Resource::new(role.arn(), role.account_id.as_str());
    resource.tags = Tags(
        role.tags
            .iter()
            .map(|t| (t.key.clone(), t.value.clone()))
            .collect(),
    );
    evaluate(
        &Policies {
            resource: Some(&trust),
            resource_kind: ResourcePolicyKind::Trust,
            ..Policies::default()
        },
        &Request {
            principal: &principal,
            action,
            resource: &resource,
            context,
        },
    )
    .is_allowed()
}

/// A role session for the bearer of an ID token from an OIDC provider of the role's
/// account.
pub(crate) fn assume_role_with_web_identity(
    call: &Call<'_>,
    raw: Value,
) -> Result<Outcome, ServiceError> {
    let input: WebIdentityInput = from_canonical(raw.clone())?;
    let denied = || {
        ServiceError::AccessDenied(
            "Not authorized to perform sts:AssumeRoleWithWebIdentity".to_owned(),
        )
    };
    if input.provider_id.is_some() {
        return Err(invalid_token(
            "rampart verifies OpenID Connect ID tokens only: ProviderId (OAuth 2.0 access tokens) is not supported.",
        ));
    }
    let view = call.plane.view();
    let account = role_account(&input.role_arn).ok_or_else(denied)?;
    let now = call.now.timestamp();
    let verified = verify_token(&view, account, &input.web_identity_token, now)?;
    let role = view.role_by_arn(&input.role_arn).ok_or_else(denied)?;
    let duration = input.duration_seconds.unwrap_or(3600);
    if duration < sts::MIN_DURATION {
        return Err(sts::duration_too_short(duration));
    }
    if duration > role.max_session_duration {
        return Err(ServiceError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    let policies = sts::session_policies(&view, input.policy.as_deref(), &input.policy_arns)?;
    let provider = verified.provider;
    let provider_arn = provider.arn();
    let claims = &verified.claims;
    let sub = claims.sub.clone().unwrap_or_default();
    let mut context = request_context(call);
    let url = &provider.url;
    context.insert(&format!("{url}:aud"), verified.audience.as_str());
    context.insert(&format!("{url}:sub"), sub.as_str());
    if claims.azp.is_some() {
        context.insert(&format!("{url}:oaud"), claims.aud.values());
    }
    let amr = claims.amr.values();
    if !amr.is_empty() {
        context.insert(&format!("{url}:amr"), amr);
    }
    context.insert("aws:FederatedProvider", provider_arn.as_str());
    context.insert("sts:RoleSessionName", input.role_session_name.as_str());
    if let Some(source) = &claims.source_identity {
        context.insert("sts:SourceIdentity", source.as_str());
    }
    const ACTION: &str = "sts:AssumeRoleWithWebIdentity";
    if !trust_allows(&view, role, &provider_arn, ACTION, &context) {
        return Err(denied());
    }
    if claims.source_identity.is_some()
        && !trust_allows(
            &view,
            role,
            &provider_arn,
            "sts:SetSourceIdentity",
            &context,
        )
    {
        return Err(ServiceError::AccessDenied(
            "Not authorized to perform sts:SetSourceIdentity".to_owned(),
        ));
    }
    let principal = SessionPrincipal::AssumedRole {
        role_name: role.role_name.clone(),
        session_name: input.role_session_name.clone(),
    };
    let mut issued = Issued::new(call, &role.account_id, principal, &role.role_id, duration);
    issued.session.session_policies = policies;
    issued.session.source_identity = claims.source_identity.clone();
    let mut output = issued.output(&raw)?;
    output["SubjectFromWebIdentityToken"] = json!(sub);
    output["AssumedRoleUser"] = json!({
        "AssumedRoleId": format!("{}:{}", role.role_id, input.role_session_name),
        "Arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", role.account_id, role.role_name, input.role_session_name),
    });
    output["Provider"] = json!(claims.iss);
    output["Audience"] = json!(verified.audience);
    if let Some(source) = &claims.source_identity {
        output["SourceIdentity"] = json!(source);
    }
    let mut mutations = issued.mutations(&view)?;
    mutations.push(last_used(call, role)?);
    Ok(Outcome { output, mutations })
}

/// Where AWS's sign-in endpoint receives SAML responses: what an assertion's audience
/// and recipient must name.
const SAML_AUDIENCES: [&str; 2] = [
    "https://signin.aws.amazon.com/saml",
    "urn:amazon:webservices",
];
const NAMEID_FORMAT: &str = "urn:oasis:names:tc:SAML:2.0:nameid-format:";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct SamlInput {
    role_arn: String,
    principal_arn: String,
    #[serde(rename = "SAMLAssertion")]
    saml_assertion: String,
    #[serde(default)]
    policy_arns: Vec<PolicyArn>,
    policy: Option<String>,
    duration_seconds: Option<i64>,
}

/// Whether `s` is a recipient AWS's sign-in accepts (global or regional endpoint).
fn aws_signin(s: &str) -> bool {
    SAML_AUDIENCES.contains(&s)
        || s.strip_prefix("https://")
            .and_then(|r| r.strip_suffix(".signin.aws.amazon.com/saml"))
            .is_some_and(|region| !region.is_empty() && !region.contains('/'))
}

/// A role session for the subject of a SAML assertion from a SAML provider of the
/// role's account.
pub(crate) fn assume_role_with_saml(call: &Call<'_>, raw: Value) -> Result<Outcome, ServiceError> {
    use base64::Engine;
    let input: SamlInput = from_canonical(raw.clone())?;
    let denied = || {
        ServiceError::AccessDenied("Not authorized to perform sts:AssumeRoleWithSAML".to_owned())
    };
    let view = call.plane.view();
    let account = role_account(&input.role_arn).ok_or_else(denied)?;
    let provider = input
        .principal_arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":saml-provider/"))
        .filter(|(a, _)| *a == account)
        .and_then(|(a, name)| {
            view.saml_providers
                .get(&records::entity_id(a, name))
                .filter(|p| p.name == name)
        })
        .ok_or_else(|| invalid_token("Specified provider doesn't exist"))?;
    let compact: String = input
        .saml_assertion
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let xml = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .ok_or_else(|| invalid_token("The SAML assertion is not base64-encoded XML."))?;
    let keys = saml::public_keys(&provider.certificates);
    let assertion = saml::verify(&xml, &keys).map_err(|r| match r {
        saml::Refusal::Malformed(m) | saml::Refusal::Signature(m) => invalid_token(m),
        saml::Refusal::Status => ServiceError::modeled(
            "IDPRejectedClaim",
            "The identity provider reported that authentication failed.",
        ),
    })?;
    let now = call.now.timestamp();
    if provider.valid_until <= now {
        return Err(invalid_token(
            "The SAML provider's metadata is no longer valid.",
        ));
    }
    if assertion.issuer != provider.entity_id {
        return Err(invalid_token(
            "The issuer of the assertion is not the provider's entity id.",
        ));
    }
    if assertion.not_before.is_some_and(|t| now < t) {
        return Err(invalid_token("The assertion is not valid yet (NotBefore)."));
    }
    match assertion.not_on_or_after {
        Some(t) if now >= t => {
            return Err(ServiceError::modeled(
                "ExpiredTokenException",
                format!("The assertion expired at {t} (NotOnOrAfter); it is now {now}."),
            ));
        }
        Some(_) => {}
        None => return Err(invalid_token("The assertion has no NotOnOrAfter.")),
    }
    if !assertion
        .audiences
        .iter()
        .any(|a| SAML_AUDIENCES.contains(&a.as_str()))
    {
        return Err(invalid_token(
            "The assertion's audience is not https://signin.aws.amazon.com/saml.",
        ));
    }
    if !assertion.recipients.iter().all(|r| aws_signin(r)) {
        return Err(invalid_token(
            "The assertion's recipient is not https://signin.aws.amazon.com/saml.",
        ));
    }
    if !assertion
        .roles
        .iter()
        .any(|(r, p)| *r == input.role_arn && *p == input.principal_arn)
    {
        return Err(denied());
    }
    let session_name = assertion
        .session_name
        .clone()
        .filter(|n| {
            (2..=64).contains(&n.len())
                && n.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
        })
        .ok_or_else(|| invalid_token("RoleSessionName is required in AuthnResponse"))?;
    let role = view.role_by_arn(&input.role_arn).ok_or_else(denied)?;
    let duration = match (input.duration_seconds, assertion.session_duration) {
        (Some(d), Some(s)) => d.min(s),
        (d, s) => d.or(s).unwrap_or(3600),
    };
    if duration < sts::MIN_DURATION {
        return Err(sts::duration_too_short(duration));
    }
    if duration > role.max_session_duration {
        return Err(ServiceError::Validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
                .to_owned(),
        ));
    }
    let policies = sts::session_policies(&view, input.policy.as_deref(), &input.policy_arns)?;
    let provider_arn = provider.arn();
    let subject_type = match assertion.name_id_format.as_deref() {
        Some(f) => f.strip_prefix(NAMEID_FORMAT).unwrap_or(f).to_owned(),
        None => "unspecified".to_owned(),
    };
    let name_qualifier = {
        use sha1::Digest;
        let text = format!(
            "{}{}/{}",
            assertion.issuer, provider.account_id, provider.name
        );
        base64::engine::general_purpose::STANDARD.encode(sha1::Sha1::digest(text.as_bytes()))
    };
    let recipient = assertion
        .recipients
        .first()
        .cloned()
        .unwrap_or_else(|| SAML_AUDIENCES[0].to_owned());
    let mut context = request_context(call);
    context.insert("saml:aud", recipient.as_str());
    context.insert("saml:sub", assertion.name_id.as_str());
    context.insert("saml:sub_type", subject_type.as_str());
    context.insert("saml:iss", assertion.issuer.as_str());
    context.insert("saml:namequalifier", name_qualifier.as_str());
    context.insert(
        "saml:doc",
        format!("{}/{}", provider.account_id, provider.name),
    );
    context.insert("aws:FederatedProvider", provider_arn.as_str());
    if let Some(source) = &assertion.source_identity {
        context.insert("sts:SourceIdentity", source.as_str());
    }
    if !trust_allows(
        &view,
        role,
        &provider_arn,
        "sts:AssumeRoleWithSAML",
        &context,
    ) {
        return Err(denied());
    }
    if assertion.source_identity.is_some()
        && !trust_allows(
            &view,
            role,
            &provider_arn,
            "sts:SetSourceIdentity",
            &context,
        )
    {
        return Err(ServiceError::AccessDenied(
            "Not authorized to perform sts:SetSourceIdentity".to_owned(),
        ));
    }
    let principal = SessionPrincipal::AssumedRole {
        role_name: role.role_name.clone(),
        session_name: session_name.clone(),
    };
    let mut issued = Issued::new(call, &role.account_id, principal, &role.role_id, duration);
    issued.session.session_policies = policies;
    issued.session.source_identity = assertion.source_identity.clone();
    let mut output = issued.output(&raw)?;
    output["AssumedRoleUser"] = json!({
        "AssumedRoleId": format!("{}:{}", role.role_id, session_name),
        "Arn": format!("arn:aws:sts::{}:assumed-role/{}/{}", role.account_id, role.role_name, session_name),
    });
    output["Subject"] = json!(assertion.name_id);
    output["SubjectType"] = json!(subject_type);
    output["Issuer"] = json!(assertion.issuer);
    output["Audience"] = json!(recipient);
    output["NameQualifier"] = json!(name_qualifier);
    if let Some(source) = &assertion.source_identity {
        output["SourceIdentity"] = json!(source);
    }
    let mut mutations = issued.mutations(&view)?;
    mutations.push(last_used(call, role)?);
    Ok(Outcome { output, mutations })
}

/// The role, marked used now.
fn last_used(call: &Call<'_>, role: &Role) -> Result<Mutation, ServiceError> {
    let mut used = role.clone();
    used.last_used = Some((call.now.timestamp(), call.region.to_owned()));
    Ok(Mutation::Put {
        kind: records::IAM_ROLE.to_owned(),
        id: records::entity_id(&used.account_id, &used.role_name),
        value: to_canonical(&used)?,
        expect: Expect::Any,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_name_their_account() {
        assert_eq!(
            role_account("arn:aws:iam::123456789012:role/path/r"),
            Some("123456789012")
        );
        assert_eq!(role_account("arn:aws:iam::123456789012:user/u"), None);
        assert_eq!(role_account("nonsense"), None);
    }

    #[test]
    fn aud_and_amr_claims_are_one_or_many() {
        let c: Claims = serde_json::from_str(r#"{"aud":"a","amr":["pwd","mfa"]}"#).unwrap();
        assert_eq!(c.aud.values(), vec!["a"]);
        assert_eq!(c.amr.values(), vec!["pwd", "mfa"]);
        let c: Claims = serde_json::from_str(r#"{"aud":["a","b"]}"#).unwrap();
        assert_eq!(c.aud.values(), vec!["a", "b"]);
        assert!(c.amr.values().is_empty());
    }
}
