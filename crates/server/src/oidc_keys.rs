//! `PUT /_rampart/oidc-jwks?arn=ARN` registers the signing keys (a JWKS document, the
//! request body) of an IAM OpenID Connect provider; `GET` on the same URL returns
//! them. rampart cannot fetch an issuer's keys itself, so this is how tokens of a
//! provider become verifiable.
//!
//! Requests are SigV4-signed like any AWS call (any service name in the scope, e.g.
//! `curl --aws-sigv4 "aws:amz:us-east-1:iam" --user KEY:SECRET`), and authorized as
//! `iam:UpdateOpenIDConnectProviderThumbprint` (PUT) or `iam:GetOpenIDConnectProvider`
//! (GET) on the provider. Both go through the API calls' own recording
//! ([`RequestContext::settle`]): a registration is committed with its audit event
//! (`PutOpenIDConnectProviderKeys`), retried if it loses a race, and recorded as failed
//! if its commit fails, like any call. Answers are JSON, errors
//! `{"Error": {"Code": …, "Message": …}}` with the status IAM's model gives the code.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::SystemTime;

use axum::body::{Body, to_bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use chrono::{DateTime, Utc};
use rampart_protocol::sigv4::{self, AuthError};
use rampart_protocol::{HttpRequest, Route, Services};
use rampart_services::iam::providers;
use rampart_services::{Call, ControlPlane};
use serde_json::json;

use crate::authenticate::authenticate;
use crate::pipeline::{CallName, RequestContext, Trail};

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
    let context = RequestContext {
        plane: &plane,
        request_id: &uuid::Uuid::new_v4().to_string(),
        source_ip: peer.ip().to_string(),
        user_agent: parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            .unwrap_or(""),
        now,
    };
    let call = Call {
        plane: &plane,
        caller: &caller,
        region: &signed.region,
        source_ip: &context.source_ip,
        user_agent: context.user_agent,
        now: DateTime::<Utc>::from(now),
    };
    // The IAM operation whose permission a request needs also gives its errors.
    let (operation, event_name) = match parts.method {
        Method::PUT => (
            "UpdateOpenIDConnectProviderThumbprint",
            "PutOpenIDConnectProviderKeys",
        ),
        Method::GET => ("GetOpenIDConnectProvider", "GetOpenIDConnectProviderKeys"),
        _ => {
            return error(
                StatusCode::METHOD_NOT_ALLOWED,
                "InvalidAction",
                "Use PUT to register keys, GET to read them.",
            );
        }
    };
    let Ok(document) = std::str::from_utf8(&body) else {
        return error(
            StatusCode::BAD_REQUEST,
            "InvalidInput",
            "The JWKS document is not UTF-8.",
        );
    };
    let route = Services::get("iam")
        .and_then(|iam| Route::by_name(iam, operation))
        .expect("the embedded IAM model has the OIDC provider operations");
    let name = CallName {
        route: &route,
        event_name,
    };
    let parameters = json!({ "OpenIDConnectProviderArn": arn });
    let answer = context
        .retrying(|may_retry| {
            let outcome = if parts.method == Method::PUT {
                providers::put_jwks(&call, &arn, document)
            } else {
                providers::get_jwks(&call, &arn)
            };
            let trail = Trail::new(Some(parameters.clone()));
            context.settle(name, &call, trail, outcome, may_retry)
        })
        .await;
    match answer {
        Ok(output) => json_response(StatusCode::OK, &output),
        Err(e) => error(
            StatusCode::from_u16(e.status).unwrap_or(StatusCode::BAD_REQUEST),
            &e.code,
            &e.message,
        ),
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
