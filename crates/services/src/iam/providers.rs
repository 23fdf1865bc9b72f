//! IAM identity providers: OpenID Connect providers (an issuer URL, the audiences
//! its tokens may name, and the signing keys registered with rampart) and SAML 2.0
//! providers (a metadata document whose signing certificates rampart extracts).
//! STS verifies web identity tokens and SAML assertions against them
//! ([`crate::sts_federation`]).
//!
//! rampart cannot reach an issuer to fetch its JWKS, so an OIDC provider's keys are
//! registered with it: [`put_jwks`] (served as `PUT /_rampart/oidc-jwks?arn=…`) takes
//! the JWKS document, for callers allowed `iam:UpdateOpenIDConnectProviderThumbprint`
//! on the provider (the thumbprint is what pins an AWS provider to its keys).

use jsonwebtoken::jwk::{AlgorithmParameters, JwkSet};
use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::paging::Paging;
use super::{already_exists, check_count, no_such_entity, tags};
use crate::authorize::{self, Permission};
use crate::call::{Call, Outcome, to_canonical};
use crate::error::ServiceError;
use crate::records::{self, OidcProvider, SamlProvider, Tag};
use crate::view::View;

/// AWS's default quotas.
const OIDC_PROVIDERS_PER_ACCOUNT: usize = 100;
const SAML_PROVIDERS_PER_ACCOUNT: usize = 100;
const CLIENT_IDS_PER_PROVIDER: usize = 100;
const THUMBPRINTS_PER_PROVIDER: usize = 5;
/// How many keys a registered JWKS may hold, and its size.
const JWKS_KEYS: usize = 100;
const JWKS_BYTES: usize = 64 * 1024;

const MD_NS: &str = "urn:oasis:names:tc:SAML:2.0:metadata";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";

/// IAM's `InvalidInput` (400).
fn invalid_input(message: impl Into<String>) -> ServiceError {
    ServiceError::modeled("InvalidInput", message)
}

/// An issuer URL as IAM keys it: without `https://` and a trailing `/`, the host in
/// lower case. What ARNs, record ids and `iss` matching use.
pub(crate) fn oidc_url(url: &str) -> String {
    let rest = url
        .get(..8)
        .filter(|s| s.eq_ignore_ascii_case("https://"))
        .map_or(url, |_| &url[8..]);
    let rest = rest.trim_end_matches('/');
    match rest.split_once('/') {
        Some((host, path)) => format!("{}/{path}", host.to_ascii_lowercase()),
        None => rest.to_ascii_lowercase(),
    }
}

/// The OIDC provider an ARN names, in the caller's account.
fn oidc_by_arn<'v>(
    view: &'v View,
    account: &str,
    arn: &str,
) -> Result<&'v OidcProvider, ServiceError> {
    let not_found = || no_such_entity(format!("OpenIDConnect Provider not found for arn {arn}"));
    let (arn_account, url) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":oidc-provider/"))
        .ok_or_else(|| invalid_input(format!("ARN {arn} is not valid.")))?;
    if arn_account != account {
        return Err(not_found());
    }
    view.oidc_providers
        .get(&records::oidc_provider_id(account, &oidc_url(url)))
        .ok_or_else(not_found)
}

/// The SAML provider an ARN names, in the caller's account.
fn saml_by_arn<'v>(
    view: &'v View,
    account: &str,
    arn: &str,
) -> Result<&'v SamlProvider, ServiceError> {
    let (arn_account, name) = arn
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(":saml-provider/"))
        .ok_or_else(|| invalid_input(format!("ARN {arn} is not valid.")))?;
    view.saml_providers
        .get(&records::entity_id(account, name))
        .filter(|p| arn_account == account && p.name == name)
        .ok_or_else(|| no_such_entity(format!("Manifest not found for arn {arn}")))
}

fn put_oidc(provider: &OidcProvider, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: records::IAM_OIDC_PROVIDER.to_owned(),
        id: records::oidc_provider_id(&provider.account_id, &provider.url),
        value: to_canonical(provider)?,
        expect,
    })
}

fn put_saml(provider: &SamlProvider, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: records::IAM_SAML_PROVIDER.to_owned(),
        id: records::entity_id(&provider.account_id, &provider.name),
        value: to_canonical(provider)?,
        expect,
    })
}

// ---------------------------------------------------------------- OpenID Connect

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOidcInput {
    url: String,
    #[serde(rename = "ClientIDList", default)]
    client_ids: Vec<String>,
    #[serde(default)]
    thumbprint_list: Vec<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
pub struct OidcArnInput {
    #[serde(rename = "OpenIDConnectProviderArn")]
    arn: String,
}

#[derive(Deserialize)]
pub struct ClientIdInput {
    #[serde(rename = "OpenIDConnectProviderArn")]
    arn: String,
    #[serde(rename = "ClientID")]
    client_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ThumbprintInput {
    #[serde(rename = "OpenIDConnectProviderArn")]
    arn: String,
    thumbprint_list: Vec<String>,
}

/// The provider a tag operation names (`OpenIDConnectProviderArn` or
/// `SAMLProviderArn`).
#[derive(Deserialize)]
pub struct ProviderArn {
    #[serde(rename = "OpenIDConnectProviderArn", alias = "SAMLProviderArn")]
    arn: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    #[serde(flatten)]
    provider: ProviderArn,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagInput {
    #[serde(flatten)]
    provider: ProviderArn,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListTagsInput {
    #[serde(flatten)]
    provider: ProviderArn,
    #[serde(flatten)]
    paging: Paging,
}

fn check_thumbprints(thumbprints: &[String]) -> Result<(), ServiceError> {
    if thumbprints.len() > THUMBPRINTS_PER_PROVIDER {
        return Err(super::limit_exceeded(
            "ThumbprintsPerOpenIdConnectProvider",
            THUMBPRINTS_PER_PROVIDER,
        ));
    }
    if let Some(bad) = thumbprints
        .iter()
        .find(|t| !t.bytes().all(|b| b.is_ascii_hexdigit()))
    {
        return Err(invalid_input(format!(
            "Thumbprint {bad} is not a 40-character hexadecimal string."
        )));
    }
    Ok(())
}

fn check_client_ids(client_ids: &[String]) -> Result<(), ServiceError> {
    if client_ids.len() > CLIENT_IDS_PER_PROVIDER {
        return Err(super::limit_exceeded(
            "ClientIdsPerOpenIdConnectProvider",
            CLIENT_IDS_PER_PROVIDER,
        ));
    }
    Ok(())
}

pub fn create_oidc(call: &Call<'_>, input: CreateOidcInput) -> Result<Outcome, ServiceError> {
    let account = &call.caller.account_id;
    let url = input.url.trim();
    if !url
        .get(..8)
        .is_some_and(|s| s.eq_ignore_ascii_case("https://"))
    {
        return Err(invalid_input("The URL must begin with https://"));
    }
    let key = oidc_url(url);
    let host = key.split('/').next().unwrap_or("");
    if host.is_empty() || url.contains(['?', '#', ' ']) {
        return Err(invalid_input(format!("Invalid URL: {url}")));
    }
    check_client_ids(&input.client_ids)?;
    check_thumbprints(&input.thumbprint_list)?;
    tags::check_new(&input.tags)?;
    let view = call.plane.view();
    if view
        .oidc_providers
        .contains_key(&records::oidc_provider_id(account, &key))
    {
        return Err(already_exists(format!(
            "Provider with url {url} already exists."
        )));
    }
    let count = view
        .oidc_providers
        .values()
        .filter(|p| &p.account_id == account)
        .count();
    check_count(
        count,
        "OpenIdConnectProvidersPerAccount",
        OIDC_PROVIDERS_PER_ACCOUNT,
    )?;
    let mut client_ids: Vec<String> = Vec::new();
    for id in input.client_ids {
        if !client_ids.contains(&id) {
            client_ids.push(id);
        }
    }
    let provider = OidcProvider {
        account_id: account.clone(),
        url: key,
        client_ids,
        thumbprints: input.thumbprint_list,
        created: call.now.timestamp(),
        tags: input.tags,
        jwks: None,
    };
    let mut outcome = Outcome::changed(vec![put_oidc(&provider, Expect::Absent)?]);
    outcome.output = json!({ "OpenIDConnectProviderArn": provider.arn() });
    if !provider.tags.is_empty() {
        outcome.output["Tags"] = json!(provider.tags);
    }
    Ok(outcome)
}

pub fn get_oidc(call: &Call<'_>, input: OidcArnInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let p = oidc_by_arn(&view, &call.caller.account_id, &input.arn)?;
    Ok(Outcome::output(json!({
        "Url": p.url,
        "ClientIDList": p.client_ids,
        "ThumbprintList": p.thumbprints,
        "CreateDate": p.created,
        "Tags": p.tags,
    })))
}

pub fn list_oidc(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut arns: Vec<String> = view
        .oidc_providers
        .values()
        .filter(|p| p.account_id == call.caller.account_id)
        .map(OidcProvider::arn)
        .collect();
    arns.sort();
    let list: Vec<Value> = arns.into_iter().map(|a| json!({ "Arn": a })).collect();
    Ok(Outcome::output(
        json!({ "OpenIDConnectProviderList": list }),
    ))
}

/// Idempotent, as in AWS: deleting a provider that does not exist succeeds.
pub fn delete_oidc(call: &Call<'_>, input: OidcArnInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    match oidc_by_arn(&view, &call.caller.account_id, &input.arn) {
        Ok(p) => Ok(Outcome::changed(vec![Mutation::Delete {
            kind: records::IAM_OIDC_PROVIDER.to_owned(),
            id: records::oidc_provider_id(&p.account_id, &p.url),
            expect: Expect::Any,
        }])),
        Err(ServiceError::Modeled { code, .. }) if code == "NoSuchEntity" => {
            Ok(Outcome::changed(Vec::new()))
        }
        Err(e) => Err(e),
    }
}

pub fn add_client_id(call: &Call<'_>, input: ClientIdInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut p = oidc_by_arn(&view, &call.caller.account_id, &input.arn)?.clone();
    if p.client_ids.contains(&input.client_id) {
        return Ok(Outcome::changed(Vec::new()));
    }
    p.client_ids.push(input.client_id);
    check_client_ids(&p.client_ids)?;
    Ok(Outcome::changed(vec![
        view.write_back(put_oidc(&p, Expect::Any)?),
    ]))
}

pub fn remove_client_id(call: &Call<'_>, input: ClientIdInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut p = oidc_by_arn(&view, &call.caller.account_id, &input.arn)?.clone();
    if !p.client_ids.contains(&input.client_id) {
        return Ok(Outcome::changed(Vec::new()));
    }
    p.client_ids.retain(|c| *c != input.client_id);
    Ok(Outcome::changed(vec![
        view.write_back(put_oidc(&p, Expect::Any)?),
    ]))
}

pub fn update_thumbprints(
    call: &Call<'_>,
    input: ThumbprintInput,
) -> Result<Outcome, ServiceError> {
    check_thumbprints(&input.thumbprint_list)?;
    let view = call.plane.view();
    let mut p = oidc_by_arn(&view, &call.caller.account_id, &input.arn)?.clone();
    p.thumbprints = input.thumbprint_list;
    Ok(Outcome::changed(vec![
        view.write_back(put_oidc(&p, Expect::Any)?),
    ]))
}

pub fn tag_oidc(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut p = oidc_by_arn(&view, &call.caller.account_id, &input.provider.arn)?.clone();
    tags::merge(&mut p.tags, input.tags)?;
    Ok(Outcome::changed(vec![
        view.write_back(put_oidc(&p, Expect::Any)?),
    ]))
}

pub fn untag_oidc(call: &Call<'_>, input: UntagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut p = oidc_by_arn(&view, &call.caller.account_id, &input.provider.arn)?.clone();
    tags::remove(&mut p.tags, &input.tag_keys);
    Ok(Outcome::changed(vec![
        view.write_back(put_oidc(&p, Expect::Any)?),
    ]))
}

pub fn list_oidc_tags(call: &Call<'_>, input: ListTagsInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let p = oidc_by_arn(&view, &call.caller.account_id, &input.provider.arn)?;
    let page = input
        .paging
        .page(&p.tags, |t| t.key.clone(), "Tags", |t| json!(t))?;
    Ok(Outcome::output(page))
}

/// Checks a JWKS document for registration: JSON `{"keys": [...]}` with at least one
/// RSA or EC public key (symmetric keys are refused: anyone who could read them
/// could mint tokens).
pub(crate) fn parse_jwks(document: &str) -> Result<JwkSet, ServiceError> {
    if document.len() > JWKS_BYTES {
        return Err(invalid_input(format!(
            "The JWKS document is larger than {JWKS_BYTES} bytes."
        )));
    }
    let set: JwkSet = serde_json::from_str(document)
        .map_err(|e| invalid_input(format!("The JWKS document is not valid: {e}")))?;
    if set.keys.is_empty() || set.keys.len() > JWKS_KEYS {
        return Err(invalid_input(format!(
            "The JWKS document must hold between 1 and {JWKS_KEYS} keys."
        )));
    }
    for key in &set.keys {
        match &key.algorithm {
            AlgorithmParameters::RSA(_) | AlgorithmParameters::EllipticCurve(_) => {}
            _ => {
                return Err(invalid_input(
                    "Only RSA and EC public keys can verify web identity tokens.",
                ));
            }
        }
        jsonwebtoken::DecodingKey::from_jwk(key)
            .map_err(|e| invalid_input(format!("A key of the JWKS document is not valid: {e}")))?;
    }
    Ok(set)
}

/// Registers the signing keys of the OIDC provider `arn` (replacing earlier ones):
/// what `PUT /_rampart/oidc-jwks?arn=ARN` does, for a caller allowed
/// `iam:UpdateOpenIDConnectProviderThumbprint` on the provider. Answers with the
/// provider's ARN and the key ids registered.
pub fn put_jwks(call: &Call<'_>, arn: &str, document: &str) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let input = json!({ "OpenIDConnectProviderArn": arn });
    let permission = Permission {
        action: "iam:UpdateOpenIDConnectProviderThumbprint".to_owned(),
        resource: arn.to_owned(),
    };
    authorize::check(&view, call, "iam", &permission, &input)?;
    let mut p = oidc_by_arn(&view, &call.caller.account_id, arn)?.clone();
    let set = parse_jwks(document)?;
    p.jwks = Some(document.to_owned());
    let kids: Vec<Option<String>> = set.keys.iter().map(|k| k.common.key_id.clone()).collect();
    let mut outcome = Outcome::changed(vec![view.write_back(put_oidc(&p, Expect::Any)?)]);
    outcome.output = json!({ "OpenIDConnectProviderArn": p.arn(), "KeyIds": kids });
    Ok(outcome)
}

/// The registered JWKS of the OIDC provider `arn` (`GET /_rampart/oidc-jwks?arn=ARN`),
/// for a caller allowed `iam:GetOpenIDConnectProvider` on it.
pub fn get_jwks(call: &Call<'_>, arn: &str) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let input = json!({ "OpenIDConnectProviderArn": arn });
    let permission = Permission {
        action: "iam:GetOpenIDConnectProvider".to_owned(),
        resource: arn.to_owned(),
    };
    authorize::check(&view, call, "iam", &permission, &input)?;
    let p = oidc_by_arn(&view, &call.caller.account_id, arn)?;
    let keys = p
        .jwks
        .as_deref()
        .and_then(|d| serde_json::from_str::<Value>(d).ok())
        .unwrap_or_else(|| json!({ "keys": [] }));
    Ok(Outcome::output(keys))
}

// ---------------------------------------------------------------- SAML

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateSamlInput {
    #[serde(rename = "SAMLMetadataDocument")]
    metadata: String,
    name: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
pub struct SamlArnInput {
    #[serde(rename = "SAMLProviderArn")]
    arn: String,
}

#[derive(Deserialize)]
pub struct UpdateSamlInput {
    #[serde(rename = "SAMLProviderArn")]
    arn: String,
    #[serde(rename = "SAMLMetadataDocument")]
    metadata: Option<String>,
}

/// What rampart keeps of an IdP's metadata.
#[derive(Debug, PartialEq)]
pub(crate) struct Metadata {
    pub entity_id: String,
    /// Base64 DER of each signing certificate.
    pub certificates: Vec<String>,
    pub valid_until: Option<i64>,
}

/// Reads an IdP's metadata: its `EntityDescriptor` (`entityID`, `validUntil`) and the
/// X.509 certificates of the `IDPSSODescriptor`'s signing `KeyDescriptor`s (those
/// with `use="signing"` or no `use`), each checked to be a certificate.
pub(crate) fn parse_metadata(document: &str) -> Result<Metadata, ServiceError> {
    let bad = || invalid_input("Could not parse metadata");
    let doc = roxmltree::Document::parse(document).map_err(|_| bad())?;
    let entity = doc
        .descendants()
        .find(|n| n.has_tag_name((MD_NS, "EntityDescriptor")))
        .ok_or_else(bad)?;
    let entity_id = entity.attribute("entityID").ok_or_else(bad)?.to_owned();
    let valid_until = match entity.attribute("validUntil") {
        Some(t) => Some(
            chrono::DateTime::parse_from_rfc3339(t.trim())
                .map_err(|_| bad())?
                .timestamp(),
        ),
        None => None,
    };
    let idp = entity
        .children()
        .find(|n| n.has_tag_name((MD_NS, "IDPSSODescriptor")))
        .ok_or_else(bad)?;
    let mut certificates = Vec::new();
    for key in idp
        .children()
        .filter(|n| n.has_tag_name((MD_NS, "KeyDescriptor")))
        .filter(|n| n.attribute("use").is_none_or(|u| u == "signing"))
    {
        for cert in key
            .descendants()
            .filter(|n| n.has_tag_name((DS_NS, "X509Certificate")))
        {
            let text: String = cert
                .text()
                .unwrap_or("")
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect();
            let der = base64::Engine::decode(&base64::engine::general_purpose::STANDARD, &text)
                .map_err(|_| bad())?;
            <x509_cert::Certificate as x509_cert::der::Decode>::from_der(&der)
                .map_err(|_| bad())?;
            certificates.push(text);
        }
    }
    if certificates.is_empty() {
        return Err(bad());
    }
    Ok(Metadata {
        entity_id,
        certificates,
        valid_until,
    })
}

/// When metadata without `validUntil` stops being valid: AWS's default of 100 years.
const DEFAULT_VALIDITY: i64 = 100 * 365 * 86_400;

pub fn create_saml(call: &Call<'_>, input: CreateSamlInput) -> Result<Outcome, ServiceError> {
    let account = &call.caller.account_id;
    tags::check_new(&input.tags)?;
    let metadata = parse_metadata(&input.metadata)?;
    let view = call.plane.view();
    if view
        .saml_providers
        .contains_key(&records::entity_id(account, &input.name))
    {
        return Err(already_exists(format!(
            "SAMLProvider {} already exists",
            input.name
        )));
    }
    let count = view
        .saml_providers
        .values()
        .filter(|p| &p.account_id == account)
        .count();
    check_count(count, "SAMLProvidersPerAccount", SAML_PROVIDERS_PER_ACCOUNT)?;
    let now = call.now.timestamp();
    let provider = SamlProvider {
        account_id: account.clone(),
        name: input.name,
        uuid: uuid::Uuid::new_v4().to_string(),
        metadata: input.metadata,
        certificates: metadata.certificates,
        entity_id: metadata.entity_id,
        created: now,
        valid_until: metadata.valid_until.unwrap_or(now + DEFAULT_VALIDITY),
        tags: input.tags,
    };
    let mut outcome = Outcome::changed(vec![put_saml(&provider, Expect::Absent)?]);
    outcome.output = json!({ "SAMLProviderArn": provider.arn() });
    if !provider.tags.is_empty() {
        outcome.output["Tags"] = json!(provider.tags);
    }
    Ok(outcome)
}

pub fn get_saml(call: &Call<'_>, input: SamlArnInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let p = saml_by_arn(&view, &call.caller.account_id, &input.arn)?;
    Ok(Outcome::output(json!({
        "SAMLProviderUUID": p.uuid,
        "SAMLMetadataDocument": p.metadata,
        "CreateDate": p.created,
        "ValidUntil": p.valid_until,
        "Tags": p.tags,
    })))
}

pub fn list_saml(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut providers: Vec<&SamlProvider> = view
        .saml_providers
        .values()
        .filter(|p| p.account_id == call.caller.account_id)
        .collect();
    providers.sort_by_key(|p| p.arn());
    let list: Vec<Value> = providers
        .into_iter()
        .map(|p| json!({ "Arn": p.arn(), "ValidUntil": p.valid_until, "CreateDate": p.created }))
        .collect();
    Ok(Outcome::output(json!({ "SAMLProviderList": list })))
}

pub fn update_saml(call: &Call<'_>, input: UpdateSamlInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut p = saml_by_arn(&view, &call.caller.account_id, &input.arn)?.clone();
    if let Some(document) = input.metadata {
        let metadata = parse_metadata(&document)?;
        p.metadata = document;
        p.certificates = metadata.certificates;
        p.entity_id = metadata.entity_id;
        p.valid_until = metadata
            .valid_until
            .unwrap_or(call.now.timestamp() + DEFAULT_VALIDITY);
    }
    let mut outcome = Outcome::changed(vec![view.write_back(put_saml(&p, Expect::Any)?)]);
    outcome.output = json!({ "SAMLProviderArn": p.arn() });
    Ok(outcome)
}

pub fn delete_saml(call: &Call<'_>, input: SamlArnInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let p = saml_by_arn(&view, &call.caller.account_id, &input.arn)?;
    Ok(Outcome::changed(vec![Mutation::Delete {
        kind: records::IAM_SAML_PROVIDER.to_owned(),
        id: records::entity_id(&p.account_id, &p.name),
        expect: Expect::Any,
    }]))
}

pub fn tag_saml(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut p = saml_by_arn(&view, &call.caller.account_id, &input.provider.arn)?.clone();
    tags::merge(&mut p.tags, input.tags)?;
    Ok(Outcome::changed(vec![
        view.write_back(put_saml(&p, Expect::Any)?),
    ]))
}

pub fn untag_saml(call: &Call<'_>, input: UntagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut p = saml_by_arn(&view, &call.caller.account_id, &input.provider.arn)?.clone();
    tags::remove(&mut p.tags, &input.tag_keys);
    Ok(Outcome::changed(vec![
        view.write_back(put_saml(&p, Expect::Any)?),
    ]))
}

pub fn list_saml_tags(call: &Call<'_>, input: ListTagsInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let p = saml_by_arn(&view, &call.caller.account_id, &input.provider.arn)?;
    let page = input
        .paging
        .page(&p.tags, |t| t.key.clone(), "Tags", |t| json!(t))?;
    Ok(Outcome::output(page))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issuer_urls_lose_scheme_and_trailing_slash_and_keep_path_case() {
        assert_eq!(oidc_url("https://Token.Example.com/"), "token.example.com");
        assert_eq!(
            oidc_url("HTTPS://oidc.example.com/id/ABC"),
            "oidc.example.com/id/ABC"
        );
        assert_eq!(oidc_url("accounts.google.com"), "accounts.google.com");
    }

    #[test]
    fn jwks_must_hold_public_asymmetric_keys() {
        let rsa = r#"{"keys":[{"kty":"RSA","kid":"k1","n":"0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw","e":"AQAB"}]}"#;
        let set = parse_jwks(rsa).unwrap();
        assert_eq!(set.keys.len(), 1);
        for bad in [
            r#"{"keys":[]}"#,
            r#"{"keys":[{"kty":"oct","k":"c2VjcmV0"}]}"#,
            r#"{"keys":[{"kty":"RSA","n":"!!","e":"AQAB"}]}"#,
            "not json",
        ] {
            assert!(parse_jwks(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn metadata_without_a_signing_certificate_is_refused() {
        let doc = r#"<md:EntityDescriptor xmlns:md="urn:oasis:names:tc:SAML:2.0:metadata" entityID="https://idp.example.com/">
          <md:IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
            <md:KeyDescriptor use="encryption"><ds:KeyInfo xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:X509Data><ds:X509Certificate>AAAA</ds:X509Certificate></ds:X509Data></ds:KeyInfo></md:KeyDescriptor>
          </md:IDPSSODescriptor></md:EntityDescriptor>"#;
        assert!(parse_metadata(doc).is_err());
        assert!(parse_metadata("<notxml").is_err());
        let dtd = r#"<!DOCTYPE x [<!ENTITY a "b">]><x/>"#;
        assert!(parse_metadata(dtd).is_err());
    }
}
