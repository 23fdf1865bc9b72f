//! `PUT /_rampart/oidc-jwks?arn=ARN` registers the signing keys (a JWKS document, the
//! request body) of an IAM OpenID Connect provider; `GET` on the same URL returns
//! them. rampart cannot fetch an issuer's keys itself, so this is how tokens of a
//! provider become verifiable.
//!
//! Requests are SigV4-signed like any AWS call (any service name in the scope, e.g.
//! `curl --aws-sigv4 "aws:amz:us-east-1:iam" --user KEY:SECRET`), and authorized as
//! `iam:UpdateOpenIDConnectProviderThumbprint` (PUT) or `iam:GetOpenIDConnectProvider`
//! (GET) on the provider. A registration is committed with its audit event
//! (`PutOpenIDConnectProviderKeys`); answers are JSON, errors
//! `{"Error": {"Code": …, "Message": …}}`.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rampart_protocol::HttpRequest;
use rampart_protocol::sigv4::{self, AuthError};
use rampart_services::audit::{self, ApiCall};
use rampart_services::iam::providers;
use rampart_services::{Call, ControlPlane, ServiceError};
use rampart_store::Batch;
use serde_json::json;

use crate::authenticate::authenticate;

/// The largest JWKS document accepted.
const MAX_BODY: usize = 64 * 1024;

pub async fn handle(
    State(plane): State<Arc<ControlPlane>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    request: Request,
) -> Response {
    let (parts, body) = request.into_parts();
    let Ok(body) = to_bytes(body, MAX_BODY).await else {
        return error(
            StatusCode::PAYLOAD_TOO_LARGE,
            "InvalidInput",
            "The JWKS document is too large.",
        );
    };
    // Nested under /_rampart, the router strips its prefix; the client signed it.
    let path = format!("/_rampart{}", parts.uri.path());
    let http = HttpRequest {
        method: parts.method.as_str(),
        path: &path,
        query: parts.uri.query().unwrap_or(""),
        headers: &parts.headers,
        body: &body,
    };
    let now = SystemTime::now();
    let signed = match sigv4::extract(&http) {
        Ok(Some(signed)) => signed,
        Ok(None) => return auth_error(&AuthError::MissingAuthenticationToken),
        Err(e) => return auth_error(&e),
    };
    let caller = match authenticate(&plane, &http, Some(&signed), now) {
        Ok(caller) => caller,
        Err(e) => return auth_error(&e),
    };
    let Some(arn) = query_param(http.query, "arn") else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "The query parameter arn (the OpenID Connect provider's ARN) is required.",
        );
    };
    let source_ip = peer.ip().to_string();
    let user_agent = parts
        .headers
        .get(header::USER_AGENT)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let call = Call {
        plane: &plane,
        caller: &caller,
        region: &signed.region,
        source_ip: &source_ip,
        user_agent,
        now: DateTime::<Utc>::from(now),
    };
    let (outcome, event_name) = match parts.method {
        Method::PUT => {
            let Ok(document) = std::str::from_utf8(&body) else {
                return error(
                    StatusCode::BAD_REQUEST,
                    "InvalidInput",
                    "The JWKS document is not UTF-8.",
                );
            };
            (
                providers::put_jwks(&call, &arn, document),
                "PutOpenIDConnectProviderKeys",
            )
        }
        Method::GET => (
            providers::get_jwks(&call, &arn),
            "GetOpenIDConnectProviderKeys",
        ),
        _ => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "InvalidAction",
                "Use PUT to register keys, GET to read them.",
            );
        }
    };
    let request_id = uuid::Uuid::new_v4().to_string();
    let parameters = json!({ "OpenIDConnectProviderArn": arn });
    let event = |read_only: bool, failure: Option<(&str, &str)>| {
        audit::event(ApiCall {
            caller: &caller,
            service: "iam",
            event_name,
            region: call.region,
            source_ip: call.source_ip,
            user_agent,
            request_id: &request_id,
            read_only,
            request_parameters: Some(parameters.clone()),
            response_elements: None,
            error: failure,
            resources: Vec::new(),
            time: call.now,
        })
    };
    match outcome {
        Ok(outcome) if outcome.mutations.is_empty() => {
            if plane.audit().record(event(true, None)).is_err() {
                return error(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Throttling",
                    "Rate exceeded",
                );
            }
            json_response(StatusCode::OK, &outcome.output)
        }
        Ok(outcome) => {
            let batch = Batch {
                mutations: outcome.mutations,
                audit: vec![event(false, None)],
            };
            match plane.commit(batch).await {
                Ok(()) => json_response(StatusCode::OK, &outcome.output),
                Err(e) => {
                    tracing::error!(error = %e, "registering OIDC keys failed");
                    error(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        "ServiceFailure",
                        "The keys could not be stored.",
                    )
                }
            }
        }
        Err(e) => {
            let (status, code, message) = service_error(e);
            let _ = plane
                .audit()
                .record(event(true, Some((code.as_str(), message.as_str()))));
            error(status, &code, &message)
        }
    }
}

fn service_error(e: ServiceError) -> (StatusCode, String, String) {
    match e {
        ServiceError::Modeled { code, message } => {
            let status = match code.as_ref() {
                "NoSuchEntity" => StatusCode::NOT_FOUND,
                "LimitExceeded" | "EntityAlreadyExists" => StatusCode::CONFLICT,
                _ => StatusCode::BAD_REQUEST,
            };
            (status, code.into_owned(), message)
        }
        ServiceError::AccessDenied(message) => {
            (StatusCode::FORBIDDEN, "AccessDenied".to_owned(), message)
        }
        ServiceError::Validation(message) => (
            StatusCode::BAD_REQUEST,
            "ValidationError".to_owned(),
            message,
        ),
        ServiceError::InvalidClientTokenId => (
            StatusCode::FORBIDDEN,
            "InvalidClientTokenId".to_owned(),
            e.to_string(),
        ),
        other => {
            tracing::error!(error = %other, "OIDC key registration failed");
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "ServiceFailure".to_owned(),
                "Internal failure".to_owned(),
            )
        }
    }
}

fn auth_error(e: &AuthError) -> Response {
    let aws = e.to_aws(rampart_protocol::Protocol::Query);
    let status = StatusCode::from_u16(aws.status).unwrap_or(StatusCode::FORBIDDEN);
    error(status, &aws.code, &aws.message)
}

fn error(status: StatusCode, code: &str, message: &str) -> Response {
    json_response(
        status,
        &json!({ "Error": { "Code": code, "Message": message } }),
    )
}

fn json_response(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut response = Response::new(Body::from(body.to_string()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

/// The percent-decoded value of query parameter `key`.
fn query_param(query: &str, key: &str) -> Option<String> {
    query.split('&').find_map(|pair| {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        (percent_decode(k)? == key)
            .then(|| percent_decode(v))
            .flatten()
    })
}

fn percent_decode(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8(out).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_parameters_are_percent_decoded() {
        let q = "x=1&arn=arn%3Aaws%3Aiam%3A%3A123456789012%3Aoidc-provider%2Fidp.example.com";
        assert_eq!(
            query_param(q, "arn").as_deref(),
            Some("arn:aws:iam::123456789012:oidc-provider/idp.example.com")
        );
        assert_eq!(query_param(q, "missing"), None);
        assert_eq!(query_param("arn=%zz", "arn"), None);
    }
}
