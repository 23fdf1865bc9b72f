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

/// Canonical to wire JSON for the body members of `shape`. Members the model does not
/// know are dropped; so are non-body members (the caller put them in headers).
pub(crate) fn to_wire(model: &ServiceModel, shape: &Shape, m: Option<&Member>, v: &Value) -> Value {
    match (shape.kind, v) {
        (ShapeKind::Structure, Value::Object(obj)) => {
            let mut out = Map::new();
            for mm in &shape.members {
                if mm.location != Location::Body {
                    continue;
                }
                if let Some(child) = obj.get(&mm.name).filter(|c| !c.is_null()) {
                    out.insert(
                        mm.wire_name().to_string(),
                        to_wire(model, model.shape(mm.shape), Some(mm), child),
                    );
                }
            }
            Value::Object(out)
        }
        (ShapeKind::List, Value::Array(items)) => match &shape.member {
            Some(item) => {
                let s = model.shape(item.shape);
                Value::Array(
                    items
                        .iter()
                        .map(|e| to_wire(model, s, Some(item), e))
                        .collect(),
                )
            }
            None => Value::Array(vec![]),
        },
        (ShapeKind::Map, Value::Object(obj)) => match &shape.value {
            Some(val) => {
                let s = model.shape(val.shape);
                Value::Object(
                    obj.iter()
                        .map(|(k, e)| (k.clone(), to_wire(model, s, Some(val), e)))
                        .collect(),
                )
            }
            None => Value::Object(Map::new()),
        },
        (ShapeKind::Timestamp, v) => {
            let fmt = m
                .and_then(|m| m.timestamp_format)
                .or(shape.timestamp_format);
            match fmt {
                None | Some(TimestampFormat::UnixTimestamp) => match v {
                    Value::String(s) => {
                        timestamp::parse_any(s).map_or(Value::Null, timestamp::to_value)
                    }
                    other => other.clone(),
                },
                Some(_) => scalar_to_string(shape, m, v, TimestampFormat::UnixTimestamp)
                    .map_or(Value::Null, Value::String),
            }
        }
        (ShapeKind::Float | ShapeKind::Double, Value::Number(n)) => Value::Number(n.clone()),
        (_, other) => other.clone(),
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
    let body = match route.operation().output {
        Some(id) => to_wire(model, model.shape(id), None, output),
        None => Value::Object(Map::new()),
    };
    let bytes = serde_json::to_vec(&body).unwrap_or_else(|_| b"{}".to_vec());
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
