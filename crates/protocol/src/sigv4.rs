//! AWS Signature Version 4 verification, for the `Authorization` header and for
//! presigned query strings.
//!
//! The flow leaves the key store to the caller:
//!
//! 1. [`extract`] reads the credential scope, signed headers, signature, date and any
//!    session token (`Ok(None)`: the request carries no authentication at all);
//! 2. the caller looks up the secret for [`SignedRequest::access_key_id`] (unknown:
//!    [`AuthError::InvalidClientTokenId`]) and derives — or takes from its cache — the
//!    [`SigningKey`] for the request's scope;
//! 3. [`verify`] checks the clock-skew window (15 minutes) or presigned expiry, rebuilds
//!    the canonical request exactly as AWS does, and compares signatures in constant
//!    time.
//!
//! [`AuthError::to_aws`] renders each failure with the code and message AWS gives in the
//! service's protocol.

use std::time::{SystemTime, UNIX_EPOCH};

use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use crate::HttpRequest;
use crate::error::AwsError;
use crate::form;
use crate::model::Protocol;
use crate::timestamp::{amz_day, format_amz_date, parse_amz_date};

type HmacSha256 = Hmac<Sha256>;

/// The only algorithm supported.
pub const ALGORITHM: &str = "AWS4-HMAC-SHA256";
/// Allowed clock skew between client and server, seconds.
pub const MAX_SKEW_SECS: i64 = 15 * 60;
/// Longest presigned validity AWS accepts (7 days).
pub const MAX_PRESIGN_EXPIRES: i64 = 604_800;
const UNSIGNED_PAYLOAD: &str = "UNSIGNED-PAYLOAD";

/// Why a request failed authentication. Match on the variant; render with
/// [`AuthError::to_aws`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AuthError {
    /// No signature, no access key: the request is anonymous where it may not be.
    #[error("Request is missing Authentication Token")]
    MissingAuthenticationToken,
    /// The signature is malformed or lacks parts; the message says which.
    #[error("{0}")]
    IncompleteSignature(String),
    /// The access key id is unknown (raised by the caller after its lookup).
    #[error("The security token included in the request is invalid.")]
    InvalidClientTokenId,
    /// The signature does not verify. Also used for a scope that does not match.
    #[error("{0}")]
    SignatureDoesNotMatch(String),
    /// `X-Amz-Date` is outside the 15-minute window.
    #[error("{0}")]
    SignatureExpired(String),
    /// A presigned request is past `X-Amz-Date + X-Amz-Expires`.
    #[error("Request has expired")]
    RequestExpired,
    /// The session token has expired (raised by the caller).
    #[error("The security token included in the request is expired")]
    ExpiredToken,
    /// Authenticated but refused.
    #[error("{0}")]
    AccessDenied(String),
}

/// The message AWS gives for a wrong signature.
pub const SIGNATURE_MISMATCH: &str = "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.";

impl AuthError {
    /// Unknown access key id.
    pub fn invalid_client_token_id() -> Self {
        AuthError::InvalidClientTokenId
    }

    /// Expired session token.
    pub fn expired_token() -> Self {
        AuthError::ExpiredToken
    }

    /// Wrong signature.
    pub fn signature_mismatch() -> Self {
        AuthError::SignatureDoesNotMatch(SIGNATURE_MISMATCH.to_string())
    }

    /// The AWS error for this failure in `protocol`: query services (IAM, STS) and
    /// ec2 use bare codes, JSON services the `...Exception` spellings.
    pub fn to_aws(&self, protocol: Protocol) -> AwsError {
        let json = matches!(
            protocol,
            Protocol::Json | Protocol::RestJson | Protocol::RestXml
        );
        let msg = self.to_string();
        let (code, status): (&'static str, u16) = match (self, json) {
            (AuthError::MissingAuthenticationToken, false) => ("MissingAuthenticationToken", 403),
            (AuthError::MissingAuthenticationToken, true) => {
                ("MissingAuthenticationTokenException", 403)
            }
            (AuthError::IncompleteSignature(_), false) => ("IncompleteSignature", 403),
            (AuthError::IncompleteSignature(_), true) => ("IncompleteSignatureException", 403),
            (AuthError::InvalidClientTokenId, false) => ("InvalidClientTokenId", 403),
            (AuthError::InvalidClientTokenId, true) => ("UnrecognizedClientException", 400),
            (AuthError::SignatureDoesNotMatch(_), false) => ("SignatureDoesNotMatch", 403),
            (AuthError::SignatureDoesNotMatch(_), true) => ("InvalidSignatureException", 403),
            (AuthError::SignatureExpired(_), _) if protocol == Protocol::Ec2 => {
                ("RequestExpired", 400)
            }
            (AuthError::SignatureExpired(_), false) => ("SignatureDoesNotMatch", 403),
            (AuthError::SignatureExpired(_), true) => ("InvalidSignatureException", 403),
            (AuthError::RequestExpired, false) => ("RequestExpired", 400),
            (AuthError::RequestExpired, true) => ("InvalidSignatureException", 403),
            (AuthError::ExpiredToken, false) => ("ExpiredToken", 403),
            (AuthError::ExpiredToken, true) => ("ExpiredTokenException", 400),
            (AuthError::AccessDenied(_), false) => ("AccessDenied", 403),
            (AuthError::AccessDenied(_), true) => ("AccessDeniedException", 400),
        };
        AwsError::new(code, msg, status, true)
    }
}

/// The signature facts of a request, before the secret is known.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SignedRequest {
    pub access_key_id: String,
    /// Credential scope date, `YYYYMMDD`.
    pub scope_date: String,
    pub region: String,
    pub service: String,
    /// Lowercase header names, in the order signed.
    pub signed_headers: Vec<String>,
    /// Hex signature as sent.
    pub signature: String,
    /// `X-Amz-Date` (or `Date`), as sent.
    pub amz_date: String,
    /// `X-Amz-Date` as epoch seconds.
    pub timestamp: i64,
    /// `X-Amz-Security-Token`, for temporary credentials.
    pub security_token: Option<String>,
    /// `Some(X-Amz-Expires)` for presigned requests.
    pub presigned_expires: Option<i64>,
}

/// A derived SigV4 signing key for one scope. Cache it per (secret, date, region,
/// service): deriving costs four HMACs.
#[derive(Clone)]
pub struct SigningKey {
    key: [u8; 32],
    scope: String,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("scope", &self.scope)
            .finish_non_exhaustive()
    }
}

fn hmac(key: &[u8], data: &[u8]) -> [u8; 32] {
    // HMAC accepts keys of any length, so `new_from_slice` cannot fail here.
    let mut m = <HmacSha256 as Mac>::new_from_slice(key).unwrap_or_else(|_| unreachable!());
    m.update(data);
    m.finalize().into_bytes().into()
}

impl SigningKey {
    /// `kSigning = HMAC(HMAC(HMAC(HMAC("AWS4" + secret, date), region), service), "aws4_request")`.
    pub fn derive(secret: &str, date: &str, region: &str, service: &str) -> Self {
        let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
        let k = hmac(&k, region.as_bytes());
        let k = hmac(&k, service.as_bytes());
        SigningKey {
            key: hmac(&k, b"aws4_request"),
            scope: format!("{date}/{region}/{service}/aws4_request"),
        }
    }

    /// `date/region/service/aws4_request`.
    pub fn scope(&self) -> &str {
        &self.scope
    }

    /// Hex signature of a string to sign.
    pub fn sign(&self, string_to_sign: &str) -> String {
        hex32(hmac(&self.key, string_to_sign.as_bytes()))
    }
}

fn header<'a>(req: &'a HttpRequest, name: &str) -> Option<&'a str> {
    req.headers.get(name).and_then(|v| v.to_str().ok())
}

fn incomplete(msg: impl Into<String>) -> AuthError {
    AuthError::IncompleteSignature(msg.into())
}

/// The lowercase hex of a SHA-256 or HMAC-SHA256 output (`hex::encode` goes character
/// by character; this is one table lookup per byte).
fn hex32(digest: [u8; 32]) -> String {
    let mut out = [0u8; 64];
    // 32 bytes always fill the 64 of `out`: this cannot fail.
    let _ = hex::encode_to_slice(digest, &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// `what` says where the credential came from, for the error message (built only then).
fn parse_credential(
    cred: &str,
    what: &dyn Fn() -> String,
) -> Result<(String, String, String, String), AuthError> {
    let parts: Vec<&str> = cred.split('/').collect();
    if parts.len() != 5 || parts[4] != "aws4_request" || parts.iter().any(|p| p.is_empty()) {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid region, not a malformed scope. {}",
            what()
        )));
    }
    if parts[1].len() != 8 || !parts[1].bytes().all(|b| b.is_ascii_digit()) {
        return Err(incomplete(format!(
            "Credential should be scoped to a valid date. {}",
            what()
        )));
    }
    Ok((
        parts[0].into(),
        parts[1].into(),
        parts[2].into(),
        parts[3].into(),
    ))
}

/// Read the signature facts from a request. `Ok(None)`: no authentication at all.
pub fn extract(req: &HttpRequest) -> Result<Option<SignedRequest>, AuthError> {
    if let Some(auth) = req.headers.get(http::header::AUTHORIZATION) {
        let auth = auth
            .to_str()
            .map_err(|_| incomplete("Authorization header is not valid ASCII."))?;
        return from_header(req, auth).map(Some);
    }
    let q = req.query.as_bytes();
    let get = |k: &str| -> Result<Option<String>, AuthError> {
        form::find(q, k, false)
            .map(|o| o.map(|c| c.into_owned()))
            .map_err(|_| incomplete("Re-examine the query-string parameters."))
    };
    let Some(alg) = get("X-Amz-Algorithm")? else {
        return Ok(None);
    };
    if alg != ALGORITHM {
        return Err(incomplete(format!("Unsupported AWS 'algorithm': '{alg}'")));
    }
    let mut missing = String::new();
    let mut need = |k: &str| -> Result<String, AuthError> {
        Ok(get(k)?.unwrap_or_else(|| {
            missing.push_str(&format!("AWS query-string parameters must include '{k}'. "));
            String::new()
        }))
    };
    let cred = need("X-Amz-Credential")?;
    let signed = need("X-Amz-SignedHeaders")?;
    let signature = need("X-Amz-Signature")?;
    let date = need("X-Amz-Date")?;
    let expires = need("X-Amz-Expires")?;
    if !missing.is_empty() {
        return Err(incomplete(format!(
            "{missing}Re-examine the query-string parameters."
        )));
    }
    let (akid, sdate, region, service) = parse_credential(&cred, &|| {
        "Re-examine the query-string parameters.".to_owned()
    })?;
    let timestamp = parse_amz_date(&date).ok_or_else(|| {
        incomplete(format!(
            "X-Amz-Date must be in the ISO8601 Long Format \"yyyyMMdd'T'HHmmss'Z'\", not '{date}'."
        ))
    })?;
    let expires: i64 = expires
        .parse()
        .ok()
        .filter(|&e| e >= 0)
        .ok_or_else(|| incomplete("X-Amz-Expires should be a number"))?;
    if expires > MAX_PRESIGN_EXPIRES {
        return Err(incomplete(
            "X-Amz-Expires must be less than a week (in seconds) that is 604800",
        ));
    }
    Ok(Some(SignedRequest {
        access_key_id: akid,
        scope_date: sdate,
        region,
        service,
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature,
        amz_date: date,
        timestamp,
        security_token: get("X-Amz-Security-Token")?,
        presigned_expires: Some(expires),
    }))
}

fn from_header(req: &HttpRequest, auth: &str) -> Result<SignedRequest, AuthError> {
    let auth = auth.trim();
    let Some(rest) = auth.strip_prefix(ALGORITHM) else {
        let alg = auth.split_whitespace().next().unwrap_or("");
        return Err(incomplete(format!("Unsupported AWS 'algorithm': '{alg}'")));
    };
    let (mut cred, mut signed, mut sig) = (None, None, None);
    for part in rest.split(',') {
        let Some((k, v)) = part.trim().split_once('=') else {
            continue;
        };
        match k.trim() {
            "Credential" => cred = Some(v.trim()),
            "SignedHeaders" => signed = Some(v.trim()),
            "Signature" => sig = Some(v.trim()),
            _ => {}
        }
    }
    let mut missing = String::new();
    for (name, v) in [
        ("Credential", cred),
        ("Signature", sig),
        ("SignedHeaders", signed),
    ] {
        if v.is_none() {
            missing.push_str(&format!(
                "Authorization header requires '{name}' parameter. "
            ));
        }
    }
    let date = header(req, "x-amz-date").or_else(|| header(req, "date"));
    if date.is_none() {
        missing.push_str(
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header. ",
        );
    }
    let (Some(cred), Some(signed), Some(sig), Some(date)) = (cred, signed, sig, date) else {
        return Err(incomplete(format!("{missing}Authorization={auth}")));
    };
    let (akid, sdate, region, service) =
        parse_credential(cred, &|| format!("Authorization={auth}"))?;
    let timestamp = parse_amz_date(date)
        .or_else(|| crate::timestamp::parse_rfc822(date).map(|f| f as i64))
        .ok_or_else(|| incomplete(format!("Date must be in ISO-8601 'basic format'. Got '{date}'. See http://en.wikipedia.org/wiki/ISO_8601")))?;
    Ok(SignedRequest {
        access_key_id: akid,
        scope_date: sdate,
        region,
        service,
        signed_headers: signed.split(';').map(str::to_ascii_lowercase).collect(),
        signature: sig.to_string(),
        amz_date: date.to_string(),
        timestamp,
        security_token: header(req, "x-amz-security-token").map(str::to_string),
        presigned_expires: None,
    })
}

/// Characters left alone by AWS's URI encoding.
const AWS_ENCODE: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'_')
    .remove(b'.')
    .remove(b'~');
const AWS_ENCODE_PATH: &percent_encoding::AsciiSet = &AWS_ENCODE.remove(b'/');

fn encode(s: &[u8], set: &'static percent_encoding::AsciiSet) -> String {
    percent_encoding::percent_encode(s, set).to_string()
}

/// Remove `.`/`..` segments and empty segments, as AWS (and botocore) normalise paths
/// for every service except S3.
fn normalize_path(path: &str) -> String {
    if path.is_empty() {
        return "/".into();
    }
    let mut out: Vec<&str> = Vec::new();
    for seg in path.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            s => out.push(s),
        }
    }
    let mut s = String::with_capacity(path.len());
    s.push('/');
    s.push_str(&out.join("/"));
    if path.ends_with('/') && !out.is_empty() {
        s.push('/');
    }
    s
}

/// The canonical URI: the normalised raw path, encoded once more (so `%2F` becomes
/// `%252F`), as SigV4 specifies for all services but S3.
pub fn canonical_uri(raw_path: &str) -> String {
    encode(normalize_path(raw_path).as_bytes(), AWS_ENCODE_PATH)
}

/// The canonical query string: parameters decoded, re-encoded with AWS's rules,
/// sorted by name then value; `X-Amz-Signature` left out.
pub fn canonical_query(raw_query: &str) -> String {
    let mut pairs: Vec<(String, String)> = form::raw_pairs(raw_query.as_bytes())
        .map(|(k, v)| {
            let dk: Vec<u8> = percent_encoding::percent_decode(k).collect();
            let dv: Vec<u8> = percent_encoding::percent_decode(v).collect();
            (encode(&dk, AWS_ENCODE), encode(&dv, AWS_ENCODE))
        })
        .filter(|(k, _)| k != "X-Amz-Signature")
        .collect();
    pairs.sort();
    let mut s = String::with_capacity(raw_query.len() + 8);
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i > 0 {
            s.push('&');
        }
        s.push_str(k);
        s.push('=');
        s.push_str(v);
    }
    s
}

/// Trim and collapse runs of spaces in a header value.
/// Appends the canonical form of a header value to `out`: words separated by one space,
/// tabs around them trimmed.
fn push_canonical_header_value(out: &mut String, v: &[u8]) {
    let s = String::from_utf8_lossy(v);
    let start = out.len();
    for word in s.split(' ').filter(|w| !w.is_empty()) {
        if out.len() > start {
            out.push(' ');
        }
        out.push_str(word.trim_matches(|c| c == '\t'));
    }
}

/// The SigV4 canonical request.
pub fn canonical_request(req: &HttpRequest, signed: &SignedRequest, payload_hash: &str) -> String {
    let mut s = String::with_capacity(256 + req.query.len());
    s.push_str(req.method);
    s.push('\n');
    s.push_str(&canonical_uri(req.path));
    s.push('\n');
    s.push_str(&canonical_query(req.query));
    s.push('\n');
    for name in &signed.signed_headers {
        s.push_str(name);
        s.push(':');
        for (i, v) in req.headers.get_all(name.as_str()).iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            push_canonical_header_value(&mut s, v.as_bytes());
        }
        s.push('\n');
    }
    s.push('\n');
    for (i, name) in signed.signed_headers.iter().enumerate() {
        if i > 0 {
            s.push(';');
        }
        s.push_str(name);
    }
    s.push('\n');
    s.push_str(payload_hash);
    s
}

/// The SigV4 string to sign.
pub fn string_to_sign(signed: &SignedRequest, canonical_request: &str) -> String {
    format!(
        "{ALGORITHM}\n{}\n{}/{}/{}/aws4_request\n{}",
        signed.amz_date,
        signed.scope_date,
        signed.region,
        signed.service,
        hex32(Sha256::digest(canonical_request.as_bytes()).into())
    )
}

fn epoch(now: SystemTime) -> i64 {
    now.duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as i64)
}

/// Verify a request's signature with `key` at time `now`.
pub fn verify(
    req: &HttpRequest,
    signed: &SignedRequest,
    key: &SigningKey,
    now: SystemTime,
) -> Result<(), AuthError> {
    let now = epoch(now);
    // key.scope == "{scope_date}/{region}/{service}/aws4_request", without formatting it.
    let scope_matches = key
        .scope
        .strip_prefix(signed.scope_date.as_str())
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(signed.region.as_str()))
        .and_then(|r| r.strip_prefix('/'))
        .and_then(|r| r.strip_prefix(signed.service.as_str()))
        == Some("/aws4_request");
    if !scope_matches {
        return Err(AuthError::signature_mismatch());
    }
    if !signed.signed_headers.iter().any(|h| h == "host") {
        return Err(incomplete(
            "'Host' or ':authority' must be a 'SignedHeader' in the AWS Authorization.",
        ));
    }
    match signed.presigned_expires {
        Some(expires) => {
            if signed.timestamp - MAX_SKEW_SECS > now {
                return Err(not_yet_current(signed.timestamp, now));
            }
            if now > signed.timestamp + expires {
                return Err(AuthError::RequestExpired);
            }
        }
        None => {
            if signed.timestamp < now - MAX_SKEW_SECS {
                return Err(AuthError::SignatureExpired(format!(
                    "Signature expired: {} is now earlier than {} ({} - 15 min.)",
                    format_amz_date(signed.timestamp),
                    format_amz_date(now - MAX_SKEW_SECS),
                    format_amz_date(now)
                )));
            }
            if signed.timestamp > now + MAX_SKEW_SECS {
                return Err(not_yet_current(signed.timestamp, now));
            }
        }
    }
    let day = amz_day(signed.timestamp);
    if day.as_slice() != signed.scope_date.as_bytes() {
        return Err(AuthError::SignatureDoesNotMatch(format!(
            "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}', from '{}'.",
            signed.scope_date,
            String::from_utf8_lossy(&day),
            signed.amz_date
        )));
    }
    let body_hash = || hex32(Sha256::digest(req.body).into());
    // Which payload hashes the signature may cover. Presigned requests without the
    // header: botocore signs the body's hash (as AWS does for all services but S3),
    // other SDKs `UNSIGNED-PAYLOAD`; each still needs a valid signature over that
    // exact string. UNSIGNED-PAYLOAD is S3's, and rampart serves no S3: the services
    // it serves authenticate every parameter, so it covers an empty body only (a
    // body it left unsigned could name any role or policy).
    let unsigned_allowed = req.body.is_empty();
    let candidates: Vec<String> = match (
        signed.presigned_expires,
        header(req, "x-amz-content-sha256"),
    ) {
        (_, Some(UNSIGNED_PAYLOAD)) if unsigned_allowed => vec![UNSIGNED_PAYLOAD.to_string()],
        (_, Some(UNSIGNED_PAYLOAD)) => return Err(AuthError::signature_mismatch()),
        (_, Some(claimed)) => {
            if !claimed.eq_ignore_ascii_case(&body_hash()) {
                return Err(AuthError::SignatureDoesNotMatch(
                    "The provided 'x-amz-content-sha256' header does not match what was computed."
                        .into(),
                ));
            }
            vec![claimed.to_string()]
        }
        (Some(_), None) if unsigned_allowed => vec![body_hash(), UNSIGNED_PAYLOAD.to_string()],
        (_, None) => vec![body_hash()],
    };
    let given = signed.signature.to_ascii_lowercase();
    for payload_hash in candidates {
        let creq = canonical_request(req, signed, &payload_hash);
        let expected = key.sign(&string_to_sign(signed, &creq));
        if bool::from(expected.as_bytes().ct_eq(given.as_bytes())) {
            return Ok(());
        }
    }
    Err(AuthError::signature_mismatch())
}

fn not_yet_current(ts: i64, now: i64) -> AuthError {
    AuthError::SignatureExpired(format!(
        "Signature not yet current: {} is still later than {} ({} + 15 min.)",
        format_amz_date(ts),
        format_amz_date(now + MAX_SKEW_SECS),
        format_amz_date(now)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use http::HeaderMap;
    use std::time::Duration;

    fn at(secs: i64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs as u64)
    }

    const SECRET: &str = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
    const T: i64 = 1440938160; // 20150830T123600Z

    /// The "get-vanilla" case of the AWS SigV4 test suite.
    #[test]
    fn get_vanilla_known_answer() {
        let mut h = HeaderMap::new();
        h.insert("host", "example.amazonaws.com".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"
                .parse()
                .unwrap(),
        );
        let req = HttpRequest {
            method: "GET",
            path: "/",
            query: "",
            headers: &h,
            body: b"",
        };
        let s = extract(&req).unwrap().unwrap();
        assert_eq!(s.access_key_id, "AKIDEXAMPLE");
        let key = SigningKey::derive(SECRET, "20150830", "us-east-1", "service");
        let creq = canonical_request(&req, &s, &hex::encode(Sha256::digest(b"")));
        assert_eq!(
            creq,
            "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        verify(&req, &s, &key, at(T + 60)).unwrap();

        // Wrong secret, skewed clocks.
        let bad = SigningKey::derive("x", "20150830", "us-east-1", "service");
        assert_eq!(
            verify(&req, &s, &bad, at(T)),
            Err(AuthError::signature_mismatch())
        );
        let e = verify(&req, &s, &key, at(T + 16 * 60)).unwrap_err();
        assert_eq!(
            e.to_string(),
            "Signature expired: 20150830T123600Z is now earlier than 20150830T123700Z (20150830T125200Z - 15 min.)"
        );
        assert_eq!(e.to_aws(Protocol::Query).code, "SignatureDoesNotMatch");
        assert!(
            verify(&req, &s, &key, at(T - 16 * 60))
                .unwrap_err()
                .to_string()
                .starts_with("Signature not yet current")
        );
    }

    #[test]
    fn canonical_pieces() {
        assert_eq!(canonical_uri("/a/./b/../c//d%2Fe"), "/a/c/d%252Fe");
        assert_eq!(canonical_uri(""), "/");
        assert_eq!(
            canonical_query("b=2&a=1&a=0&X-Amz-Signature=x&c=%7e%20"),
            "a=0&a=1&b=2&c=~%20"
        );
        let canonical_header_value = |v: &[u8]| {
            let mut out = String::from("x:");
            push_canonical_header_value(&mut out, v);
            out
        };
        assert_eq!(canonical_header_value(b"  a   b  "), "x:a b");
        assert_eq!(canonical_header_value(b"\t \ta\t  b"), "x:a b");
        assert_eq!(canonical_header_value(b""), "x:");
    }

    #[test]
    fn missing_pieces_are_incomplete() {
        let mut h = HeaderMap::new();
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKID/20150830/us-east-1/sts/aws4_request"
                .parse()
                .unwrap(),
        );
        let req = HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &h,
            body: b"",
        };
        let e = extract(&req).unwrap_err();
        assert!(
            matches!(&e, AuthError::IncompleteSignature(m) if m.contains("requires 'Signature'") && m.contains("'X-Amz-Date'")),
            "{e}"
        );
        assert_eq!(
            e.to_aws(Protocol::Json).code,
            "IncompleteSignatureException"
        );
        let none = HeaderMap::new();
        let req = HttpRequest {
            method: "POST",
            path: "/",
            query: "",
            headers: &none,
            body: b"",
        };
        assert_eq!(extract(&req), Ok(None));
        let q = "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20150830T123600Z";
        let req = HttpRequest {
            method: "GET",
            path: "/",
            query: q,
            headers: &none,
            body: b"",
        };
        assert!(
            matches!(extract(&req), Err(AuthError::IncompleteSignature(m)) if m.contains("'X-Amz-Credential'"))
        );
    }

    #[test]
    fn error_codes_per_protocol() {
        assert_eq!(
            AuthError::MissingAuthenticationToken
                .to_aws(Protocol::Query)
                .code,
            "MissingAuthenticationToken"
        );
        let e = AuthError::invalid_client_token_id().to_aws(Protocol::Query);
        assert_eq!(
            (e.code.as_ref(), e.message.as_str()),
            (
                "InvalidClientTokenId",
                "The security token included in the request is invalid."
            )
        );
        assert_eq!(
            AuthError::signature_mismatch().to_aws(Protocol::Json).code,
            "InvalidSignatureException"
        );
    }
}
