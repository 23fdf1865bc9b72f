//! JSON bodies (awsJson 1.0/1.1 and the body of rest-json): wire JSON to the canonical
//! value and back, by shape. The two differ from the canonical form only where the
//! model says so: `locationName` keys, non-epoch `timestampFormat`s, `jsonvalue`
//! strings. Type errors are `SerializationException`s, as AWS's JSON front end says.

use serde_json::{Map, Value};

use crate::error::AwsError;
use crate::model::{Location, Member, ServiceModel, Shape, ShapeKind, TimestampFormat};
use crate::timestamp;
use crate::validate::Path;
use crate::value::{is_base64, scalar_to_string, type_name};
use crate::{HttpRequest, HttpResponse, Route};

fn mismatch(shape: &Shape, path: &Path<'_>) -> AwsError {
    let at = match path {
        Path::Root => "the request body".to_string(),
        path => format!("'{path}'"),
    };
    AwsError::serialization(format!(
        "Expected a value of type {} at {at}",
        type_name(shape.kind)
    ))
}

/// Wire JSON to canonical, for the body members of `shape` (a structure).
pub(crate) fn from_wire(
    model: &ServiceModel,
    shape: &Shape,
    v: Value,
    path: &Path<'_>,
) -> Result<Value, AwsError> {
    match (shape.kind, v) {
        (_, Value::Null) => Ok(Value::Null),
        (ShapeKind::Structure, Value::Object(mut obj)) => {
            let mut out = Map::new();
            for m in &shape.members {
                if m.location != Location::Body {
                    continue;
                }
                let Some(child) = obj.remove(m.wire_name()) else {
                    continue;
                };
                let cv = from_wire(
                    model,
                    model.shape(m.shape),
                    child,
                    &Path::Member(path, &m.name),
                )?;
                if !cv.is_null() {
                    out.insert(m.name.clone(), cv);
                }
            }
            Ok(Value::Object(out))
        }
        (ShapeKind::List, Value::Array(items)) => {
            let Some(item) = &shape.member else {
                return Ok(Value::Array(vec![]));
            };
            let s = model.shape(item.shape);
            let mut out = Vec::with_capacity(items.len());
            for (i, e) in items.into_iter().enumerate() {
                let v = from_wire(model, s, e, &Path::Item(path, i))?;
                if !v.is_null() {
                    out.push(v);
                }
            }
            Ok(Value::Array(out))
        }
        (ShapeKind::Map, Value::Object(obj)) => {
            let Some(val) = &shape.value else {
                return Ok(Value::Object(Map::new()));
            };
            let s = model.shape(val.shape);
            let mut out = Map::new();
            for (k, e) in obj {
                let v = from_wire(model, s, e, &Path::Entry(path, &k))?;
                if !v.is_null() {
                    out.insert(k, v);
                }
            }
            Ok(Value::Object(out))
        }
        (ShapeKind::String, v @ Value::String(_)) | (ShapeKind::Boolean, v @ Value::Bool(_)) => {
            Ok(v)
        }
        (ShapeKind::Integer, Value::Number(n))
            if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) =>
        {
            Ok(Value::Number(n))
        }
        (ShapeKind::Long, Value::Number(n)) if n.is_i64() => Ok(Value::Number(n)),
        (ShapeKind::Float | ShapeKind::Double, Value::Number(n)) => Ok(Value::Number(n)),
        (ShapeKind::Float | ShapeKind::Double, Value::String(s))
            if matches!(s.as_str(), "NaN" | "Infinity" | "-Infinity") =>
        {
            Err(AwsError::serialization(format!(
                "Non-finite number at '{path}' is not supported"
            )))
        }
        (ShapeKind::Blob, Value::String(s)) if is_base64(&s) => Ok(Value::String(s)),
        (ShapeKind::Timestamp, Value::Number(n)) => n
            .as_f64()
            .map(timestamp::to_value)
            .ok_or_else(|| mismatch(shape, path)),
        (ShapeKind::Timestamp, Value::String(s)) => timestamp::parse_any(&s)
            .map(timestamp::to_value)
            .ok_or_else(|| mismatch(shape, path)),
        _ => Err(mismatch(shape, path)),
    }
}

/// Canonical to wire JSON text for the body members of `shape`, written directly (no
/// wire JSON tree in between). Members the model does not know are dropped; so are
/// non-body members (the caller put them in headers).
pub(crate) fn wire_json(
    model: &ServiceModel,
    shape: &Shape,
    m: Option<&Member>,
    v: &Value,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(256);
    write_wire(model, shape, m, v, &mut out);
    out
}

fn write_wire(
    model: &ServiceModel,
    shape: &Shape,
    m: Option<&Member>,
    v: &Value,
    out: &mut Vec<u8>,
) {
    match (shape.kind, v) {
        (ShapeKind::Structure, Value::Object(obj)) => {
            out.push(b'{');
            let body = shape
                .members
                .iter()
                .filter(|mm| mm.location == Location::Body);
            let present =
                body.filter_map(|mm| Some((mm, obj.get(&mm.name).filter(|c| !c.is_null())?)));
            for (i, (mm, child)) in present.enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, mm.wire_name());
                out.push(b':');
                write_wire(model, model.shape(mm.shape), Some(mm), child, out);
            }
            out.push(b'}');
        }
        (ShapeKind::List, Value::Array(items)) => {
            out.push(b'[');
            if let Some(item) = &shape.member {
                let s = model.shape(item.shape);
                for (i, e) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_wire(model, s, Some(item), e, out);
                }
            }
            out.push(b']');
        }
        (ShapeKind::Map, Value::Object(obj)) => {
            out.push(b'{');
            if let Some(val) = &shape.value {
                let s = model.shape(val.shape);
                for (i, (k, e)) in obj.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    write_string(out, k);
                    out.push(b':');
                    write_wire(model, s, Some(val), e, out);
                }
            }
            out.push(b'}');
        }
        (ShapeKind::Timestamp, v) => {
            let fmt = m
                .and_then(|m| m.timestamp_format)
                .or(shape.timestamp_format);
            let wire = match (fmt, v) {
                (None | Some(TimestampFormat::UnixTimestamp), Value::String(s)) => {
                    timestamp::parse_any(s).map_or(Value::Null, timestamp::to_value)
                }
                (None | Some(TimestampFormat::UnixTimestamp), other) => other.clone(),
                (Some(_), v) => scalar_to_string(shape, m, v, TimestampFormat::UnixTimestamp)
                    .map_or(Value::Null, Value::String),
            };
            write_value(out, &wire);
        }
        (_, Value::String(s)) => write_string(out, s),
        (_, other) => write_value(out, other),
    }
}

/// A scalar (or a tree the model does not describe) as serde_json writes it.
fn write_value(out: &mut Vec<u8>, v: &Value) {
    // Serializing a Value into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, v);
}

/// `s` as a JSON string: copied as it is when it holds nothing JSON escapes (quotes,
/// backslashes, control characters), as most strings and every base64 blob do; else
/// escaped by serde_json. The check is one pass without early exit, so it vectorizes.
fn write_string(out: &mut Vec<u8>, s: &str) {
    let plain = !s.bytes().fold(false, |seen, b| {
        seen | (b < 0x20) | (b == b'"') | (b == b'\\')
    });
    if plain {
        out.push(b'"');
        out.extend_from_slice(s.as_bytes());
        out.push(b'"');
    } else {
        // Serializing a &str into a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, s);
    }
}

/// Parse a JSON body; empty means `{}`.
pub(crate) fn parse_body(body: &[u8]) -> Result<Value, AwsError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(Value::Object(Map::new()));
    }
    let v: Value = serde_json::from_slice(body).map_err(|e| {
        AwsError::serialization(if e.classify() == serde_json::error::Category::Data {
            "Start of structure or map found where not expected.".to_string()
        } else {
            format!("The request body is not valid JSON: {e}")
        })
    })?;
    if !v.is_object() {
        return Err(AwsError::serialization(
            "Start of structure or map found where not expected.",
        ));
    }
    Ok(v)
}

/// Parse an awsJson request into the canonical input (not yet constraint-validated).
pub(crate) fn parse(route: &Route, req: &HttpRequest) -> Result<Value, AwsError> {
    let body = parse_body(req.body)?;
    match route.operation().input {
        Some(id) => from_wire(route.service, route.service.shape(id), body, &Path::Root),
        None => Ok(Value::Object(Map::new())),
    }
}

fn content_type(model: &ServiceModel) -> &'static str {
    match model.metadata.json_version.as_deref() {
        Some("1.0") => "application/x-amz-json-1.0",
        _ => "application/x-amz-json-1.1",
    }
}

/// A successful awsJson response.
pub(crate) fn serialize(route: &Route, output: &Value, request_id: &str) -> HttpResponse {
    let model = route.service;
    let bytes = match route.operation().output {
        Some(id) => wire_json(model, model.shape(id), None, output),
        None => b"{}".to_vec(),
    };
    HttpResponse::new(200, content_type(model), bytes, request_id)
}

/// `{"__type": code, "message": ...}` with `x-amzn-ErrorType`.
pub(crate) fn error_body(err: &AwsError) -> Vec<u8> {
    let mut m = Map::new();
    m.insert("__type".into(), Value::String(err.code.to_string()));
    if !err.message.is_empty() {
        m.insert("message".into(), Value::String(err.message.clone()));
    }
    if let Some(reason) = &err.reason {
        m.insert("Reason".into(), Value::String(reason.to_string()));
    }
    serde_json::to_vec(&Value::Object(m)).unwrap_or_default()
}

/// An awsJson error.
pub(crate) fn serialize_error(
    model: &ServiceModel,
    err: &AwsError,
    request_id: &str,
) -> HttpResponse {
    let mut r = HttpResponse::new(err.status, content_type(model), error_body(err), request_id);
    r.set_header("x-amzn-errortype", &err.code);
    r
}
