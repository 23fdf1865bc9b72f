//! [`AwsError`]: an error as AWS puts it on the wire (code, message, HTTP status,
//! sender or receiver fault), with constructors for the errors the protocol layer and
//! every service raise. Rendering it in a protocol's error shape is
//! [`crate::serialize_error`]'s job.

use std::borrow::Cow;

use crate::model::{Protocol, ServiceModel};

/// An AWS error. `code` is what clients match on (`botocore`'s `Error.Code`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code}: {message}")]
pub struct AwsError {
    pub code: Cow<'static, str>,
    pub message: String,
    pub status: u16,
    /// `true`: the caller's fault (`Sender`), `false`: the service's (`Receiver`).
    pub sender_fault: bool,
    /// The `Reason` member some JSON services' errors carry (Organizations'
    /// `ConstraintViolationException`: `ACCOUNT_NUMBER_LIMIT_EXCEEDED`, ...).
    pub reason: Option<Cow<'static, str>>,
}

impl AwsError {
    /// Any error, fully specified.
    pub fn new(
        code: impl Into<Cow<'static, str>>,
        message: impl Into<String>,
        status: u16,
        sender_fault: bool,
    ) -> Self {
        AwsError {
            code: code.into(),
            message: message.into(),
            status,
            sender_fault,
            reason: None,
        }
    }

    /// The same error with a `Reason` member.
    pub fn with_reason(mut self, reason: impl Into<Cow<'static, str>>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    fn client(code: &'static str, message: impl Into<String>) -> Self {
        Self::new(code, message, 400, true)
    }

    /// A modelled error of `service` by wire code or shape name (`NoSuchEntity`,
    /// `NotFoundException`): status and fault come from the model's error shape; an
    /// unmodelled code gets 400 / sender.
    pub fn modeled(service: &ServiceModel, code: &str, message: impl Into<String>) -> Self {
        match service.error_shape(code) {
            Some(shape) => {
                let (wire, status, sender) = match &shape.error {
                    Some(e) => (e.code.clone(), e.http_status, e.sender_fault),
                    None => (
                        shape.name.clone(),
                        if shape.fault { 500 } else { 400 },
                        !shape.fault,
                    ),
                };
                Self::new(wire, message, status, sender)
            }
            None => Self::new(code.to_string(), message, 400, true),
        }
    }

    /// Input validation failure, in the service protocol's spelling: `ValidationError`
    /// for query/ec2 services, `ValidationException` for JSON ones.
    pub fn validation(protocol: Protocol, message: impl Into<String>) -> Self {
        match protocol {
            Protocol::Query | Protocol::Ec2 => Self::client("ValidationError", message),
            _ => Self::client("ValidationException", message),
        }
    }

    /// `AccessDenied` (query) / `AccessDeniedException` (JSON), HTTP 403.
    pub fn access_denied(protocol: Protocol, message: impl Into<String>) -> Self {
        let code = match protocol {
            Protocol::Query | Protocol::Ec2 => "AccessDenied",
            _ => "AccessDeniedException",
        };
        Self::new(code, message, 403, true)
    }

    /// The caller's `Action` (query) or `X-Amz-Target` (JSON) names no operation.
    pub fn unknown_operation(service: &ServiceModel, operation: &str) -> Self {
        match service.protocol() {
            Protocol::Query | Protocol::Ec2 => Self::client(
                "InvalidAction",
                format!(
                    "Could not find operation {operation} for version {}",
                    service.metadata.api_version
                ),
            ),
            _ => {
                let name = service
                    .metadata
                    .service_id
                    .as_deref()
                    .unwrap_or(&service.metadata.endpoint_prefix);
                let version = &service.metadata.api_version;
                Self::client(
                    "UnknownOperationException",
                    if operation.is_empty() {
                        format!("The request names no operation of {name} {version}")
                    } else {
                        format!("{operation} is not an operation of {name} {version}")
                    },
                )
            }
        }
    }

    /// A query request without `Action`.
    pub fn missing_action() -> Self {
        Self::client("MissingAction", "Missing Action")
    }

    /// An `Action` parameter with no `Version`.
    pub fn missing_version() -> Self {
        Self::client(
            "MissingParameter",
            "The request must contain the parameter Version",
        )
    }

    /// A JSON body that does not parse or has the wrong types.
    pub fn serialization(message: impl Into<String>) -> Self {
        Self::client("SerializationException", message)
    }

    /// A body larger than the service accepts.
    pub fn request_too_large(limit: usize) -> Self {
        Self::new(
            "RequestEntityTooLarge",
            format!("Request body must be no larger than {limit} bytes"),
            413,
            true,
        )
    }

    /// Invalid bytes for the protocol (not UTF-8, not form-encoded, ...).
    pub fn malformed(protocol: Protocol, message: impl Into<String>) -> Self {
        match protocol {
            Protocol::Query | Protocol::Ec2 => Self::client("MalformedQueryString", message),
            _ => Self::serialization(message),
        }
    }

    /// A value of the wrong type for its member in a query request.
    pub fn invalid_parameter_value(message: impl Into<String>) -> Self {
        Self::client("InvalidParameterValue", message)
    }

    /// An unexpected failure on rampart's side (HTTP 500, receiver fault).
    pub fn internal() -> Self {
        Self::new(
            "InternalFailure",
            "The request processing has failed because of an unknown error, exception or failure.",
            500,
            false,
        )
    }
}
