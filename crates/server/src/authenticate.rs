//! Authentication: who signed a request. The SigV4 arithmetic is the protocol
//! layer's; this module finds the secret of the access key in the control plane's
//! view and applies `--dev` mode's rule for keys it does not know.

use std::sync::Arc;
use std::time::SystemTime;

use rampart_protocol::HttpRequest;
use rampart_protocol::sigv4::{self, AuthError, SignedRequest, SigningKey};
use rampart_services::{Caller, ControlPlane};

/// The principal that signed `request`.
pub fn authenticate(
    plane: &ControlPlane,
    request: &HttpRequest<'_>,
    signed: Option<&SignedRequest>,
    now: SystemTime,
) -> Result<Arc<Caller>, AuthError> {
    let signed = signed.ok_or(AuthError::MissingAuthenticationToken)?;
    match plane.credentials(&signed.access_key_id) {
        Some(credentials) => {
            let key = SigningKey::derive(
                &credentials.secret_access_key,
                &signed.scope_date,
                &signed.region,
                &signed.service,
            );
            sigv4::verify(request, signed, &key, now)?;
            Ok(credentials.caller)
        }
        None if plane.settings().dev => Ok(Arc::new(Caller::root(
            &plane.settings().default_account_id,
            Some(signed.access_key_id.clone()),
        ))),
        None => Err(AuthError::InvalidClientTokenId),
    }
}
