//! [`ServiceError`]: how a service says a call failed, by AWS error code, without
//! knowing the wire. The server turns it into the protocol's error (with the HTTP
//! status the service model gives the code).

use std::borrow::Cow;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ServiceError {
    /// One of the service's modelled errors (`NoSuchEntity`, `LimitExceeded`, ...).
    #[error("{code}: {message}")]
    Modeled {
        code: Cow<'static, str>,
        message: String,
    },
    /// A modelled error that names its reason (`ConstraintViolationException` with
    /// `Reason: OU_DEPTH_LIMIT_EXCEEDED`, ...).
    #[error("{code} ({reason}): {message}")]
    ModeledWithReason {
        code: &'static str,
        reason: &'static str,
        message: String,
    },
    /// Input the model allows but the operation does not (`ValidationError` in query
    /// services, `ValidationException` in JSON ones).
    #[error("validation failed: {0}")]
    Validation(String),
    /// The policy engine denied the call; the message is AWS's.
    #[error("access denied: {0}")]
    AccessDenied(String),
    /// The credentials may not make this call at all (GetSessionToken credentials
    /// without MFA calling IAM): AWS answers as for an unknown token.
    #[error("The security token included in the request is invalid")]
    InvalidClientTokenId,
    /// An operation of the model that rampart does not serve yet.
    #[error("rampart does not implement {service}:{operation} yet")]
    NotImplemented { service: String, operation: String },
    /// Something on rampart's side failed; the detail is logged, not returned.
    #[error("internal failure: {0}")]
    Internal(String),
}

impl ServiceError {
    /// A modelled error by its AWS code.
    pub fn modeled(code: &'static str, message: impl Into<String>) -> ServiceError {
        ServiceError::Modeled {
            code: Cow::Borrowed(code),
            message: message.into(),
        }
    }

    /// A modelled error with its `Reason`.
    pub fn with_reason(
        code: &'static str,
        reason: &'static str,
        message: impl Into<String>,
    ) -> ServiceError {
        ServiceError::ModeledWithReason {
            code,
            reason,
            message: message.into(),
        }
    }

    pub fn not_implemented(service: &str, operation: &str) -> ServiceError {
        ServiceError::NotImplemented {
            service: service.to_owned(),
            operation: operation.to_owned(),
        }
    }
}
