//! Authentication: who signed a request. The SigV4 arithmetic is the protocol
//! layer's; this module finds the secret of the access key in the control plane's
//! view, checks the credential scope's region against the regions rampart serves and
//! the session token and expiry of STS temporary credentials (a long-term key carries
//! none), and applies `--dev` mode's rule for keys it does not know.

use std::sync::Arc;
use std::time::SystemTime;

use rampart_protocol::HttpRequest;
use rampart_protocol::sigv4::{self, AuthError, SignedRequest};
use rampart_services::{Caller, ControlPlane};

/// The principal that signed `request`.
pub fn authenticate(
    plane: &ControlPlane,
    request: &HttpRequest<'_>,
    signed: Option<&SignedRequest>,
    now: SystemTime,
) -> Result<Arc<Caller>, AuthError> {
    let signed = signed.ok_or(AuthError::MissingAuthenticationToken)?;
    if !plane.settings().regions.contains(&signed.region) {
        return Err(AuthError::SignatureDoesNotMatch(format!(
            "Credential should be scoped to a valid region, not '{}'. ",
            signed.region
        )));
    }
    match plane.credentials(&signed.access_key_id) {
        Some(credentials) => {
            let key = crate::signing_keys::signing_key(&credentials.secret_access_key, signed);
            sigv4::verify(request, signed, &key, now)?;
            match &credentials.caller.session {
                // A long-term key with a session token: AWS refuses the token.
                None if signed.security_token.is_some() => {
                    return Err(AuthError::InvalidClientTokenId);
                }
                None => {}
                Some(session) => {
                    // Temporary credentials are only good with their own session token,
                    // and only until they expire.
                    let token = signed.security_token.as_deref().unwrap_or("");
                    if !session.token_matches(token) {
                        return Err(AuthError::InvalidClientTokenId);
                    }
                    let now = now
                        .duration_since(SystemTime::UNIX_EPOCH)
                        .map_or(0, |d| d.as_secs() as i64);
                    if now >= session.expires {
                        return Err(AuthError::ExpiredToken);
                    }
                }
            }
            Ok(credentials.caller)
        }
        None if plane.settings().dev => Ok(Arc::new(Caller::root(
            &plane.settings().default_account_id,
            Some(signed.access_key_id.clone()),
        ))),
        None => Err(AuthError::InvalidClientTokenId),
    }
}
