//! SAML 2.0 responses as STS checks them: the XML signature (enveloped, RSA-SHA256 over
//! exclusive canonicalization, SHA-256 digest) of the `Response` or of its `Assertion`,
//! verified with the IdP's certificates from its metadata (never with a key the
//! message carries), then the assertion's contents.
//!
//! Against signature wrapping: a signature counts only for its parent element, whose
//! `ID` its single reference must name, and that `ID` must be unique in the document;
//! the assertion read is the signed one (or the one inside the signed response), and
//! a response must hold exactly one, unencrypted, assertion.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use roxmltree::{Document, Node};
use rsa::RsaPublicKey;
use rsa::pkcs1v15::{Signature, VerifyingKey};
use rsa::pkcs8::DecodePublicKey;
use rsa::signature::Verifier;
use sha2::{Digest, Sha256};
use x509_cert::der::{Decode, Encode};

use super::c14n;

const PROTOCOL_NS: &str = "urn:oasis:names:tc:SAML:2.0:protocol";
const ASSERTION_NS: &str = "urn:oasis:names:tc:SAML:2.0:assertion";
const DS_NS: &str = "http://www.w3.org/2000/09/xmldsig#";
const EXC_C14N: &str = "http://www.w3.org/2001/10/xml-exc-c14n#";
const ENVELOPED: &str = "http://www.w3.org/2000/09/xmldsig#enveloped-signature";
const RSA_SHA256: &str = "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256";
const SHA256: &str = "http://www.w3.org/2001/04/xmlenc#sha256";
const SUCCESS: &str = "urn:oasis:names:tc:SAML:2.0:status:Success";
/// The SAML attributes AWS reads.
pub(crate) const ROLE_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/Role";
const SESSION_NAME_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/RoleSessionName";
const SESSION_DURATION_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/SessionDuration";
const SOURCE_IDENTITY_ATTRIBUTE: &str = "https://aws.amazon.com/SAML/Attributes/SourceIdentity";

/// Why a response was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Refusal {
    /// Not a SAML response rampart can read (`InvalidIdentityToken`).
    Malformed(&'static str),
    /// No valid signature by the IdP (`InvalidIdentityToken`).
    Signature(&'static str),
    /// The IdP said authentication failed (`IDPRejectedClaim`).
    Status,
}

/// What STS reads from a verified assertion.
#[derive(Debug, Default)]
pub(crate) struct Assertion {
    pub issuer: String,
    pub name_id: String,
    pub name_id_format: Option<String>,
    pub audiences: Vec<String>,
    pub recipients: Vec<String>,
    pub not_before: Option<i64>,
    /// The earliest of the conditions' and the subject confirmations' NotOnOrAfter.
    pub not_on_or_after: Option<i64>,
    /// `(role ARN, provider ARN)` pairs of the Role attribute.
    pub roles: Vec<(String, String)>,
    pub session_name: Option<String>,
    pub session_duration: Option<i64>,
    pub source_identity: Option<String>,
}

/// The RSA public keys of base64 DER certificates (those that hold one).
pub(crate) fn public_keys(certificates: &[String]) -> Vec<RsaPublicKey> {
    certificates
        .iter()
        .filter_map(|c| STANDARD.decode(c).ok())
        .filter_map(|der| x509_cert::Certificate::from_der(&der).ok())
        .filter_map(|cert| cert.tbs_certificate.subject_public_key_info.to_der().ok())
        .filter_map(|spki| RsaPublicKey::from_public_key_der(&spki).ok())
        .collect()
}

/// Verifies `xml` (a decoded SAMLResponse) with `keys` and reads its assertion.
pub(crate) fn verify(xml: &str, keys: &[RsaPublicKey]) -> Result<Assertion, Refusal> {
    let doc = Document::parse(xml)
        .map_err(|_| Refusal::Malformed("The SAML response is not well-formed XML."))?;
    let response = doc.root_element();
    if !response.has_tag_name((PROTOCOL_NS, "Response")) {
        return Err(Refusal::Malformed(
            "The document is not a SAML 2.0 Response.",
        ));
    }
    let status = child(response, PROTOCOL_NS, "Status")
        .and_then(|s| child(s, PROTOCOL_NS, "StatusCode"))
        .and_then(|c| c.attribute("Value"));
    if status != Some(SUCCESS) {
        return Err(Refusal::Status);
    }
    if child(response, ASSERTION_NS, "EncryptedAssertion").is_some() {
        return Err(Refusal::Malformed(
            "Encrypted assertions are not supported.",
        ));
    }
    let assertions: Vec<Node> = response
        .children()
        .filter(|n| n.has_tag_name((ASSERTION_NS, "Assertion")))
        .collect();
    let [assertion] = assertions.as_slice() else {
        return Err(Refusal::Malformed(
            "The response must hold exactly one assertion.",
        ));
    };
    let response_signature = child(response, DS_NS, "Signature");
    let assertion_signature = child(*assertion, DS_NS, "Signature");
    if response_signature.is_none() && assertion_signature.is_none() {
        return Err(Refusal::Signature("The SAML response is not signed."));
    }
    for signature in [response_signature, assertion_signature]
        .into_iter()
        .flatten()
    {
        check_signature(&doc, signature, keys)?;
    }
    read_assertion(*assertion)
}

fn child<'a, 'i>(node: Node<'a, 'i>, ns: &str, name: &str) -> Option<Node<'a, 'i>> {
    node.children().find(|n| n.has_tag_name((ns, name)))
}

fn algorithm<'a>(node: Option<Node<'a, '_>>) -> Option<&'a str> {
    node.and_then(|n| n.attribute("Algorithm"))
}

/// The `PrefixList` of an `InclusiveNamespaces` child of a c14n method or transform.
fn inclusive_prefixes(method: Node<'_, '_>) -> Vec<String> {
    child(method, EXC_C14N, "InclusiveNamespaces")
        .and_then(|n| n.attribute("PrefixList"))
        .map(|l| l.split_whitespace().map(str::to_owned).collect())
        .unwrap_or_default()
}

fn base64_of(node: Option<Node<'_, '_>>) -> Option<Vec<u8>> {
    let text: String = node?
        .text()
        .unwrap_or("")
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    STANDARD.decode(text).ok()
}

/// Checks one enveloped signature of its parent element.
fn check_signature(
    doc: &Document<'_>,
    signature: Node<'_, '_>,
    keys: &[RsaPublicKey],
) -> Result<(), Refusal> {
    let bad = Refusal::Signature;
    let signed = signature
        .parent_element()
        .ok_or(bad("The signature has no parent."))?;
    let info =
        child(signature, DS_NS, "SignedInfo").ok_or(bad("The signature has no SignedInfo."))?;
    let c14n_method =
        child(info, DS_NS, "CanonicalizationMethod").ok_or(bad("No CanonicalizationMethod."))?;
    if algorithm(Some(c14n_method)) != Some(EXC_C14N) {
        return Err(bad(
            "Only exclusive canonicalization (xml-exc-c14n#) is supported.",
        ));
    }
    if algorithm(child(info, DS_NS, "SignatureMethod")) != Some(RSA_SHA256) {
        return Err(bad("Only the rsa-sha256 signature method is supported."));
    }
    let references: Vec<Node> = info
        .children()
        .filter(|n| n.has_tag_name((DS_NS, "Reference")))
        .collect();
    let [reference] = references.as_slice() else {
        return Err(bad("The signature must have exactly one reference."));
    };
    let id = signed
        .attribute("ID")
        .ok_or(bad("The signed element has no ID."))?;
    if reference.attribute("URI") != Some(&format!("#{id}")) {
        return Err(bad(
            "The signature's reference does not name the signed element.",
        ));
    }
    if doc
        .descendants()
        .filter(|n| n.attribute("ID") == Some(id))
        .count()
        != 1
    {
        return Err(bad("The signed element's ID is not unique."));
    }
    let mut prefixes = Vec::new();
    let mut canonical = false;
    if let Some(transforms) = child(*reference, DS_NS, "Transforms") {
        for transform in transforms.children().filter(|n| n.is_element()) {
            match algorithm(Some(transform)) {
                Some(ENVELOPED) => {}
                Some(EXC_C14N) => {
                    canonical = true;
                    prefixes = inclusive_prefixes(transform);
                }
                _ => return Err(bad("Unsupported transform in the signature's reference.")),
            }
        }
    }
    if !canonical {
        return Err(bad(
            "The reference must be canonicalized with xml-exc-c14n#.",
        ));
    }
    if algorithm(child(*reference, DS_NS, "DigestMethod")) != Some(SHA256) {
        return Err(bad("Only the sha256 digest method is supported."));
    }
    let expected =
        base64_of(child(*reference, DS_NS, "DigestValue")).ok_or(bad("No DigestValue."))?;
    let digest =
        Sha256::digest(c14n::exclusive(signed, Some(signature.id()), &prefixes).as_bytes());
    if digest.as_slice() != expected.as_slice() {
        return Err(bad("The digest of the signed element does not match."));
    }
    let value =
        base64_of(child(signature, DS_NS, "SignatureValue")).ok_or(bad("No SignatureValue."))?;
    let value = Signature::try_from(value.as_slice())
        .map_err(|_| bad("The SignatureValue is not valid."))?;
    let signed_info = c14n::exclusive(info, None, &inclusive_prefixes(c14n_method));
    let verified = keys.iter().any(|key| {
        VerifyingKey::<Sha256>::new(key.clone())
            .verify(signed_info.as_bytes(), &value)
            .is_ok()
    });
    if verified {
        Ok(())
    } else {
        Err(bad(
            "The signature does not verify with the provider's certificates.",
        ))
    }
}

fn time(node: Node<'_, '_>, name: &str) -> Result<Option<i64>, Refusal> {
    match node.attribute(name) {
        None => Ok(None),
        Some(t) => chrono::DateTime::parse_from_rfc3339(t.trim())
            .map(|d| Some(d.timestamp()))
            .map_err(|_| Refusal::Malformed("A time in the assertion is not valid.")),
    }
}

fn earliest(a: Option<i64>, b: Option<i64>) -> Option<i64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.min(b)),
        (a, b) => a.or(b),
    }
}

fn read_assertion(assertion: Node<'_, '_>) -> Result<Assertion, Refusal> {
    let mut out = Assertion {
        issuer: child(assertion, ASSERTION_NS, "Issuer")
            .and_then(|n| n.text())
            .map(|t| t.trim().to_owned())
            .ok_or(Refusal::Malformed("The assertion has no Issuer."))?,
        ..Assertion::default()
    };
    let subject = child(assertion, ASSERTION_NS, "Subject")
        .ok_or(Refusal::Malformed("The assertion has no Subject."))?;
    let name_id = child(subject, ASSERTION_NS, "NameID")
        .ok_or(Refusal::Malformed("The assertion has no NameID."))?;
    out.name_id = name_id.text().unwrap_or("").trim().to_owned();
    out.name_id_format = name_id.attribute("Format").map(str::to_owned);
    for confirmation in subject
        .children()
        .filter(|n| n.has_tag_name((ASSERTION_NS, "SubjectConfirmation")))
    {
        if let Some(data) = child(confirmation, ASSERTION_NS, "SubjectConfirmationData") {
            out.not_on_or_after = earliest(out.not_on_or_after, time(data, "NotOnOrAfter")?);
            if let Some(r) = data.attribute("Recipient") {
                out.recipients.push(r.to_owned());
            }
        }
    }
    if let Some(conditions) = child(assertion, ASSERTION_NS, "Conditions") {
        out.not_before = time(conditions, "NotBefore")?;
        out.not_on_or_after = earliest(out.not_on_or_after, time(conditions, "NotOnOrAfter")?);
        for restriction in conditions
            .children()
            .filter(|n| n.has_tag_name((ASSERTION_NS, "AudienceRestriction")))
        {
            for audience in restriction
                .children()
                .filter(|n| n.has_tag_name((ASSERTION_NS, "Audience")))
            {
                out.audiences
                    .push(audience.text().unwrap_or("").trim().to_owned());
            }
        }
    }
    for attribute in assertion
        .children()
        .filter(|n| n.has_tag_name((ASSERTION_NS, "AttributeStatement")))
        .flat_map(|s| s.children())
        .filter(|n| n.has_tag_name((ASSERTION_NS, "Attribute")))
    {
        let values: Vec<String> = attribute
            .children()
            .filter(|n| n.has_tag_name((ASSERTION_NS, "AttributeValue")))
            .map(|v| v.text().unwrap_or("").trim().to_owned())
            .collect();
        match attribute.attribute("Name") {
            Some(ROLE_ATTRIBUTE) => {
                for value in values {
                    let parts: Vec<&str> = value.split(',').map(str::trim).collect();
                    if let [a, b] = parts.as_slice() {
                        // Either order: "role,provider" or "provider,role".
                        let (role, provider) = if a.contains(":role/") { (a, b) } else { (b, a) };
                        out.roles.push(((*role).to_owned(), (*provider).to_owned()));
                    }
                }
            }
            Some(SESSION_NAME_ATTRIBUTE) => out.session_name = values.into_iter().next(),
            Some(SESSION_DURATION_ATTRIBUTE) => {
                out.session_duration = values.first().and_then(|v| v.parse().ok());
            }
            Some(SOURCE_IDENTITY_ATTRIBUTE) => out.source_identity = values.into_iter().next(),
            _ => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A response whose assertion signxml (Python) signed: enveloped, RSA-SHA256,
    /// exclusive c14n, then placed inside the response (so the canonical form must
    /// leave the response's namespaces out).
    const SIGNED: &str = include_str!("testdata/signed_response.xml");
    const CERT: &str = include_str!("testdata/idp_cert.b64");

    fn keys() -> Vec<RsaPublicKey> {
        let keys = public_keys(&[CERT.trim().to_owned()]);
        assert_eq!(keys.len(), 1);
        keys
    }

    #[test]
    fn a_response_signed_by_another_implementation_verifies() {
        let assertion = verify(SIGNED, &keys()).unwrap();
        assert_eq!(assertion.issuer, "https://idp.example.com/saml");
        assert_eq!(assertion.name_id, "alice@example.com");
        assert_eq!(assertion.session_name.as_deref(), Some("alice"));
        assert_eq!(
            assertion.roles,
            vec![(
                "arn:aws:iam::123456789012:role/saml-role".to_owned(),
                "arn:aws:iam::123456789012:saml-provider/corp-idp".to_owned()
            )]
        );
        assert_eq!(
            assertion.audiences,
            vec!["https://signin.aws.amazon.com/saml"]
        );
        assert!(assertion.not_on_or_after.is_some());
    }

    #[test]
    fn any_change_to_the_signed_assertion_breaks_it() {
        for (from, to) in [
            (">alice<", ">mallory<"),
            ("saml-role,", "admin-role,"),
            ("<saml:Audience>", "<saml:Audience> "),
        ] {
            assert!(SIGNED.contains(from), "{from}");
            let changed = SIGNED.replacen(from, to, 1);
            assert!(
                matches!(verify(&changed, &keys()), Err(Refusal::Signature(_))),
                "{from}"
            );
        }
        // Whitespace outside the signed assertion does not matter.
        let outside = SIGNED.replacen("<samlp:Status>", "<samlp:Status>\n  ", 1);
        assert!(verify(&outside, &keys()).is_ok());
    }

    #[test]
    fn other_keys_and_unsigned_responses_are_refused() {
        let other = RsaPublicKey::new(
            rsa::BigUint::from_bytes_be(&[0xc5; 256]),
            rsa::BigUint::from(65537u32),
        )
        .unwrap();
        assert!(matches!(
            verify(SIGNED, &[other]),
            Err(Refusal::Signature(_))
        ));
        let start = SIGNED.find("<ds:Signature").unwrap();
        let end = SIGNED.find("</ds:Signature>").unwrap() + "</ds:Signature>".len();
        let unsigned = format!("{}{}", &SIGNED[..start], &SIGNED[end..]);
        assert_eq!(
            verify(&unsigned, &keys()).unwrap_err(),
            Refusal::Signature("The SAML response is not signed.")
        );
        assert!(matches!(
            verify("<samlp:Response", &keys()),
            Err(Refusal::Malformed(_))
        ));
    }
}
