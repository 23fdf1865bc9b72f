//! rampart's protocol layer: the AWS wire protocols, driven by the botocore service
//! models, and SigV4 verification.
//!
//! Every request goes through the same four steps, whatever its protocol:
//!
//! 1. [`route`] finds the service model and operation ([`Route`]) from the method,
//!    path, `X-Amz-Target`/`Action` and the SigV4 signing name;
//! 2. [`parse_request`] turns the wire request into the *canonical value*: a
//!    `serde_json::Value` shaped as the AWS JSON protocol would carry the input
//!    (member names as in the model, blobs base64, timestamps epoch seconds), checked
//!    against the model's constraints, so services deserialize it with serde;
//! 3. the service does its work and returns its output in the same canonical form;
//! 4. [`serialize_response`] or [`serialize_error`] renders it in the protocol's shape.
//!
//! [`sigv4`] verifies signatures: [`sigv4::extract`], then the caller looks up the
//! secret, then [`sigv4::verify`] with a cached [`sigv4::SigningKey`].
//!
//! **Architecture invariant:** this crate knows no operation's meaning. It never
//! mentions an operation by name; everything it does follows from the models.
//!
//! ```
//! use rampart_protocol::{HttpRequest, parse_request, route, serialize_response};
//! let headers = http::HeaderMap::new();
//! let req = HttpRequest {
//!     method: "POST",
//!     path: "/",
//!     query: "",
//!     headers: &headers,
//!     body: b"Action=GetCallerIdentity&Version=2011-06-15",
//! };
//! let r = route(&req, Some("sts")).unwrap();
//! assert_eq!(r.operation().name, "GetCallerIdentity");
//! let input = parse_request(&r, &req).unwrap();
//! assert_eq!(input, serde_json::json!({}));
//! let out = serde_json::json!({"UserId": "AIDA", "Account": "123456789012", "Arn": "arn:aws:iam::123456789012:root"});
//! let resp = serialize_response(&r, &out, "req-1");
//! assert_eq!(resp.status, 200);
//! assert!(std::str::from_utf8(&resp.body).unwrap().contains("<Account>123456789012</Account>"));
//! ```

pub mod error;
mod form;
mod json;
pub mod model;
mod query;
pub mod redact;
mod rest_json;
pub mod route;
pub mod sigv4;
pub mod timestamp;
pub mod validate;
mod value;
mod xml;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue};
use serde_json::Value;

pub use error::AwsError;
pub use model::{Operation, OperationId, Protocol, ServiceModel, Services, Shape, ShapeId};
pub use route::{error_service, route, route_within};

/// Largest request body accepted (bytes). AWS's own limits are smaller for most
/// operations; this one only protects the process.
pub const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// An HTTP request as the protocol layer sees it.
#[derive(Debug, Clone, Copy)]
pub struct HttpRequest<'a> {
    pub method: &'a str,
    /// Raw path, still percent-encoded, without the query string.
    pub path: &'a str,
    /// Raw query string, without `?`.
    pub query: &'a str,
    pub headers: &'a HeaderMap,
    pub body: &'a [u8],
}

/// An HTTP response to send.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Bytes,
}

impl HttpResponse {
    fn new(status: u16, content_type: &'static str, body: Vec<u8>, request_id: &str) -> Self {
        let mut headers = HeaderMap::with_capacity(4);
        headers.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static(content_type),
        );
        if let Ok(v) = HeaderValue::from_str(request_id) {
            headers.insert(HeaderName::from_static("x-amzn-requestid"), v);
        }
        HttpResponse {
            status,
            headers,
            body: Bytes::from(body),
        }
    }

    /// Set a header; names or values that HTTP cannot carry are dropped.
    fn set_header(&mut self, name: &str, value: &str) {
        if let (Ok(n), Ok(v)) = (
            HeaderName::from_bytes(name.as_bytes()),
            HeaderValue::from_str(value),
        ) {
            self.headers.insert(n, v);
        }
    }
}

/// A routed request: the service model and the operation.
#[derive(Debug, Clone, Copy)]
pub struct Route {
    pub service: &'static ServiceModel,
    pub operation: OperationId,
}

impl Route {
    /// The operation's model.
    pub fn operation(&self) -> &'static Operation {
        self.service.operation(self.operation)
    }

    /// Route to an operation by name.
    pub fn by_name(service: &'static ServiceModel, operation: &str) -> Option<Route> {
        service
            .operation_id(operation)
            .map(|operation| Route { service, operation })
    }
}

/// Parse and validate a routed request into the canonical input value.
pub fn parse_request(route: &Route, req: &HttpRequest) -> Result<Value, AwsError> {
    if req.body.len() > MAX_BODY_BYTES {
        return Err(AwsError::request_too_large(MAX_BODY_BYTES));
    }
    let v = match route.service.protocol() {
        Protocol::Query | Protocol::Ec2 => query::parse(route, req)?,
        Protocol::Json => json::parse(route, req)?,
        Protocol::RestJson | Protocol::RestXml => rest_json::parse(route, req)?,
    };
    if let Some(input) = route.operation().input {
        validate::validate(route.service, input, &v)?;
    }
    Ok(v)
}

/// Render a service's output (canonical form) as the protocol's response.
pub fn serialize_response(route: &Route, output: &Value, request_id: &str) -> HttpResponse {
    match route.service.protocol() {
        Protocol::Query | Protocol::Ec2 => query::serialize(route, output, request_id),
        Protocol::Json => json::serialize(route, output, request_id),
        Protocol::RestJson | Protocol::RestXml => rest_json::serialize(route, output, request_id),
    }
}

/// Render an error in the service's protocol.
pub fn serialize_error(service: &ServiceModel, err: &AwsError, request_id: &str) -> HttpResponse {
    match service.protocol() {
        Protocol::Query | Protocol::Ec2 => query::serialize_error(service, err, request_id),
        Protocol::Json => json::serialize_error(service, err, request_id),
        Protocol::RestJson | Protocol::RestXml => rest_json::serialize_error(err, request_id),
    }
}
