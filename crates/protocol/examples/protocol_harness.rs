//! A line-oriented harness over the protocol layer, for differential tests against
//! botocore (`tests/python/test_protocol_botocore.py`). One JSON object per input
//! line, one per output line:
//!
//! - `{"direction":"parse","service":"iam","method":"POST","path":"/","query":"",
//!   "headers":{...},"body_b64":"..."}` → `{"operation":"ListUsers","value":{...}}` or
//!   `{"error":{"code":..,"message":..,"status":..}}`
//! - `{"direction":"serialize","service":"iam","operation":"ListUsers","output":{...}}`
//!   → `{"status":200,"headers":{...},"body_b64":"..."}`
//! - `{"direction":"error","service":"iam","code":..,"message":..,"status":..,
//!   "sender_fault":true}` → the same response form.
//!
//! - `{"direction":"verify", <parse fields>, "secret":"...", "now":<epoch>}` →
//!   `{"verified":true,...}` or `{"auth_error":"..."}` (SigV4 extract + verify).
//!
//! Service `ec2` is the test fixture under `tests/fixtures/ec2.json`.

use std::io::{BufRead, Write};
use std::sync::LazyLock;
use std::time::{Duration, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rampart_protocol::{
    AwsError, HttpRequest, HttpResponse, Route, ServiceModel, Services, parse_request, route,
    route_within, serialize_error, serialize_response, sigv4,
};
use serde_json::{Value, json};
use sigv4::SigningKey;

static EC2: LazyLock<ServiceModel> = LazyLock::new(|| {
    ServiceModel::from_json("ec2", include_str!("../tests/fixtures/ec2.json"))
        .expect("ec2 fixture loads")
});

fn service(name: &str) -> Result<&'static ServiceModel, String> {
    if name == "ec2" {
        return Ok(&EC2);
    }
    Services::get(name).ok_or_else(|| format!("unknown service {name}"))
}

fn error_json(e: &AwsError) -> Value {
    json!({"error": {"code": e.code, "message": e.message, "status": e.status}})
}

fn response_json(r: &HttpResponse) -> Value {
    let headers: serde_json::Map<String, Value> = r
        .headers
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                Value::String(v.to_str().unwrap_or("").to_string()),
            )
        })
        .collect();
    json!({"status": r.status, "headers": headers, "body_b64": B64.encode(&r.body)})
}

fn headers_of(cmd: &Value) -> Result<http::HeaderMap, String> {
    let mut headers = http::HeaderMap::new();
    for (k, v) in cmd
        .get("headers")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let name = http::HeaderName::from_bytes(k.as_bytes()).map_err(|e| e.to_string())?;
        let value =
            http::HeaderValue::from_str(v.as_str().unwrap_or("")).map_err(|e| e.to_string())?;
        headers.append(name, value);
    }
    Ok(headers)
}

/// `{"direction":"verify", <request fields>, "secret":..., "now": epoch}`:
/// extract + verify the SigV4 signature.
fn verify(cmd: &Value, req: &HttpRequest) -> Value {
    let signed = match sigv4::extract(req) {
        Ok(Some(s)) => s,
        Ok(None) => return json!({"auth_error": "none"}),
        Err(e) => return json!({"auth_error": format!("{e:?}")}),
    };
    let secret = cmd.get("secret").and_then(Value::as_str).unwrap_or("");
    let now = UNIX_EPOCH + Duration::from_secs(cmd.get("now").and_then(Value::as_u64).unwrap_or(0));
    let key = SigningKey::derive(secret, &signed.scope_date, &signed.region, &signed.service);
    match sigv4::verify(req, &signed, &key, now) {
        Ok(()) => {
            json!({"verified": true, "access_key_id": signed.access_key_id, "security_token": signed.security_token})
        }
        Err(e) => json!({"auth_error": format!("{e:?}")}),
    }
}

fn handle(line: &str) -> Result<Value, String> {
    let cmd: Value = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let s = |k: &str| cmd.get(k).and_then(Value::as_str).unwrap_or("");
    let model = service(s("service"))?;
    match s("direction") {
        "parse" | "verify" => {
            let headers = headers_of(&cmd)?;
            let body = B64.decode(s("body_b64")).map_err(|e| e.to_string())?;
            let req = HttpRequest {
                method: s("method"),
                path: s("path"),
                query: s("query"),
                headers: &headers,
                body: &body,
            };
            if s("direction") == "verify" {
                return Ok(verify(&cmd, &req));
            }
            let routed = if model.name == "ec2" {
                route_within(model, &req)
            } else {
                route(&req, Some(&model.metadata.signing_name))
            };
            let r = match routed {
                Ok(r) => r,
                Err(e) => return Ok(error_json(&e)),
            };
            Ok(match parse_request(&r, &req) {
                Ok(v) => {
                    json!({"service": r.service.name, "operation": r.operation().name, "value": v})
                }
                Err(e) => error_json(&e),
            })
        }
        "serialize" => {
            let r = Route::by_name(model, s("operation")).ok_or("unknown operation")?;
            let out = cmd.get("output").cloned().unwrap_or(json!({}));
            Ok(response_json(&serialize_response(
                &r,
                &out,
                "harness-request-id",
            )))
        }
        "error" => {
            let status = cmd.get("status").and_then(Value::as_u64).unwrap_or(400) as u16;
            let sender = cmd
                .get("sender_fault")
                .and_then(Value::as_bool)
                .unwrap_or(true);
            let err = if cmd.get("modeled").and_then(Value::as_bool).unwrap_or(false) {
                AwsError::modeled(model, s("code"), s("message"))
            } else {
                AwsError::new(s("code").to_string(), s("message"), status, sender)
            };
            Ok(response_json(&serialize_error(
                model,
                &err,
                "harness-request-id",
            )))
        }
        other => Err(format!("unknown direction {other}")),
    }
}

fn main() {
    let stdin = std::io::stdin();
    let mut out = std::io::stdout().lock();
    for line in stdin.lock().lines() {
        let Ok(line) = line else { break };
        if line.trim().is_empty() {
            continue;
        }
        let v = handle(&line).unwrap_or_else(|e| json!({"harness_error": e}));
        let _ = writeln!(out, "{v}");
        let _ = out.flush();
    }
}
