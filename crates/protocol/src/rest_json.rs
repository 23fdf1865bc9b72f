//! The rest-json protocol: the operation is found by method and URI template
//! (`/detector/{DetectorId}/filter/{FilterName}`, greedy `{Key+}`); members come from
//! URI labels, query string, headers (`location: header`, prefixed `headers` maps),
//! the payload member, or the JSON body. Responses put `header`/`statusCode` members
//! where they belong and the rest in the body.

use std::borrow::Cow;

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::AwsError;
use crate::form;
use crate::json::{error_body, from_wire, parse_body, wire_json};
use crate::model::{Location, Operation, ServiceModel, ShapeKind, TimestampFormat, UriSegment};
use crate::validate::{Path, child_path, message, violation};
use crate::value::{scalar_from_str, scalar_to_string};
use crate::{HttpRequest, HttpResponse, Route};

/// Match `path` (raw, percent-encoded) against an operation's template; on success the
/// decoded labels, by label name.
pub(crate) fn match_path<'p>(op: &'p Operation, path: &str) -> Option<Vec<(&'p str, String)>> {
    let segs: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
    let mut labels = Vec::new();
    let tmpl = &op.uri.segments;
    let mut i = 0;
    for (ti, t) in tmpl.iter().enumerate() {
        match t {
            UriSegment::Literal(l) => {
                if segs
                    .get(i)
                    .is_none_or(|s| decode(s).as_deref() != Some(l.as_str()))
                {
                    return None;
                }
                i += 1;
            }
            UriSegment::Label(n) => {
                let s = decode(segs.get(i)?)?;
                labels.push((n.as_str(), s.into_owned()));
                i += 1;
            }
            UriSegment::Greedy(n) => {
                // Greedy labels take everything up to the literal tail of the template.
                let tail = tmpl.len() - ti - 1;
                if segs.len() < i + 1 + tail {
                    return None;
                }
                let end = segs.len() - tail;
                let joined = segs[i..end]
                    .iter()
                    .map(|s| decode(s))
                    .collect::<Option<Vec<_>>>()?
                    .join("/");
                labels.push((n.as_str(), joined));
                i = end;
            }
        }
    }
    (i == segs.len()).then_some(labels)
}

fn decode(s: &str) -> Option<Cow<'_, str>> {
    form::decode(s.as_bytes(), false)
}

/// Whether the request's query string has the template's literal query parameters.
pub(crate) fn query_matches(op: &Operation, query: &str) -> bool {
    op.uri.query.iter().all(|(k, v)| {
        form::pairs(query.as_bytes(), false).is_ok_and(|p| {
            p.iter()
                .any(|(pk, pv)| pk == k && v.as_deref().is_none_or(|v| pv == v))
        })
    })
}

/// Parse a rest-json request into the canonical input (not yet constraint-validated).
pub(crate) fn parse(route: &Route, req: &HttpRequest) -> Result<Value, AwsError> {
    let model = route.service;
    let op = route.operation();
    let Some(input) = op.input else {
        return Ok(Value::Object(Map::new()));
    };
    let shape = model.shape(input);
    let labels = match_path(op, req.path).unwrap_or_default();
    let query = form::pairs(req.query.as_bytes(), false)
        .map_err(|_| AwsError::serialization("The query string is not valid UTF-8"))?;
    let mut errors = Vec::new();

    // Body: the payload member, or the JSON of all body members.
    let mut out = match shape.payload.as_deref().and_then(|p| shape.member_named(p)) {
        Some(pm) => {
            let ps = model.shape(pm.shape);
            let mut o = Map::new();
            let v = match ps.kind {
                ShapeKind::Blob if !req.body.is_empty() => Some(Value::String(
                    base64::engine::general_purpose::STANDARD.encode(req.body),
                )),
                ShapeKind::String if !req.body.is_empty() => Some(Value::String(
                    std::str::from_utf8(req.body)
                        .map_err(|_| {
                            AwsError::serialization("The request body is not valid UTF-8")
                        })?
                        .to_string(),
                )),
                ShapeKind::Structure | ShapeKind::Map | ShapeKind::List => Some(from_wire(
                    model,
                    ps,
                    parse_body(req.body)?,
                    &Path::Member(&Path::Root, &pm.name),
                )?),
                _ => None,
            };
            if let Some(v) = v {
                o.insert(pm.name.clone(), v);
            }
            o
        }
        None => match from_wire(model, shape, parse_body(req.body)?, &Path::Root)? {
            Value::Object(o) => o,
            _ => Map::new(),
        },
    };

    for m in &shape.members {
        let ms = model.shape(m.shape);
        let path = child_path("", &m.name);
        let raw: Option<Value> = match m.location {
            Location::Uri => labels
                .iter()
                .find(|(n, _)| *n == m.wire_name())
                .map(|(_, v)| Value::String(v.clone())),
            Location::Querystring if ms.kind == ShapeKind::Map => {
                // A map bound to the whole query string: every parameter not bound elsewhere.
                let bound: Vec<&str> = shape
                    .members
                    .iter()
                    .filter(|x| x.location == Location::Querystring && x.location_name.is_some())
                    .map(|x| x.wire_name())
                    .collect();
                let map: Map<String, Value> = query
                    .iter()
                    .filter(|(k, _)| !bound.contains(&k.as_ref()))
                    .map(|(k, v)| (k.to_string(), Value::String(v.to_string())))
                    .collect();
                (!map.is_empty()).then_some(Value::Object(map))
            }
            Location::Querystring => {
                let vals: Vec<&str> = query
                    .iter()
                    .filter(|(k, _)| k == m.wire_name())
                    .map(|(_, v)| v.as_ref())
                    .collect();
                if vals.is_empty() {
                    None
                } else if ms.kind == ShapeKind::List {
                    Some(Value::Array(
                        vals.into_iter()
                            .map(|v| Value::String(v.to_string()))
                            .collect(),
                    ))
                } else {
                    Some(Value::String(vals[0].to_string()))
                }
            }
            Location::Header => req
                .headers
                .get(m.wire_name())
                .and_then(|v| v.to_str().ok())
                .map(|s| match ms.kind {
                    ShapeKind::List => Value::Array(
                        s.split(',')
                            .map(|p| Value::String(p.trim().to_string()))
                            .collect(),
                    ),
                    _ => Value::String(s.to_string()),
                }),
            Location::Headers => {
                let prefix = m.wire_name().to_ascii_lowercase();
                let map: Map<String, Value> = req
                    .headers
                    .iter()
                    .filter_map(|(k, v)| {
                        let rest = k.as_str().strip_prefix(prefix.as_str())?;
                        Some((
                            rest.to_string(),
                            Value::String(v.to_str().ok()?.to_string()),
                        ))
                    })
                    .collect();
                (!map.is_empty()).then_some(Value::Object(map))
            }
            Location::Body | Location::StatusCode => None,
        };
        let Some(raw) = raw else { continue };
        match typed(model, m.shape, m.json_value, raw) {
            Ok(v) => {
                out.insert(m.name.clone(), v);
            }
            Err((shown, expected)) => {
                errors.push(violation(
                    Some(&shown),
                    ms.sensitive,
                    &path,
                    &format!("Member must be a valid {expected}"),
                ));
            }
        }
    }
    if errors.is_empty() {
        Ok(Value::Object(out))
    } else {
        Err(AwsError::validation(model.protocol(), message(&errors)))
    }
}

/// Type strings from URI/query/header positions by shape.
fn typed(
    model: &ServiceModel,
    id: crate::model::ShapeId,
    json_value: bool,
    raw: Value,
) -> Result<Value, (Value, &'static str)> {
    let shape = model.shape(id);
    match raw {
        Value::String(s) if json_value => {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&s)
                .map_err(|_| (Value::String(s.clone()), "JSON value"))?;
            let text =
                String::from_utf8(bytes).map_err(|_| (Value::String(s.clone()), "JSON value"))?;
            Ok(Value::String(text))
        }
        Value::String(s) => scalar_from_str(shape, &s).map_err(|e| (Value::String(s), e.expected)),
        Value::Array(items) => {
            let Some(item) = &shape.member else {
                return Ok(Value::Array(vec![]));
            };
            items
                .into_iter()
                .map(|v| typed(model, item.shape, false, v))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::Array)
        }
        Value::Object(obj) => {
            let Some(val) = &shape.value else {
                return Ok(Value::Object(Map::new()));
            };
            obj.into_iter()
                .map(|(k, v)| typed(model, val.shape, false, v).map(|v| (k, v)))
                .collect::<Result<Map<_, _>, _>>()
                .map(Value::Object)
        }
        other => Ok(other),
    }
}

/// A successful rest-json response.
pub(crate) fn serialize(route: &Route, output: &Value, request_id: &str) -> HttpResponse {
    let model = route.service;
    let op = route.operation();
    let mut status = op.http.response_code;
    let mut headers: Vec<(String, String)> = Vec::new();
    let mut body: Option<Vec<u8>> = None;
    if let (Some(id), Value::Object(obj)) = (op.output, output) {
        let shape = model.shape(id);
        for m in &shape.members {
            let Some(v) = obj.get(&m.name).filter(|v| !v.is_null()) else {
                continue;
            };
            let ms = model.shape(m.shape);
            match m.location {
                Location::StatusCode => {
                    status = v
                        .as_u64()
                        .and_then(|n| u16::try_from(n).ok())
                        .unwrap_or(status)
                }
                Location::Header if m.json_value => {
                    let s = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                    headers.push((
                        m.wire_name().to_string(),
                        base64::engine::general_purpose::STANDARD.encode(s),
                    ));
                }
                Location::Header => {
                    let text = match (ms.kind, v) {
                        (ShapeKind::List, Value::Array(items)) => {
                            let item = ms.member.as_ref().map(|i| model.shape(i.shape));
                            items
                                .iter()
                                .filter_map(|e| {
                                    scalar_to_string(item?, None, e, TimestampFormat::Rfc822)
                                })
                                .collect::<Vec<_>>()
                                .join(",")
                        }
                        _ => scalar_to_string(ms, Some(m), v, TimestampFormat::Rfc822)
                            .unwrap_or_default(),
                    };
                    headers.push((m.wire_name().to_string(), text));
                }
                Location::Headers => {
                    for (k, hv) in v.as_object().into_iter().flatten() {
                        if let Some(s) = hv.as_str() {
                            headers.push((format!("{}{k}", m.wire_name()), s.to_string()));
                        }
                    }
                }
                _ => {}
            }
        }
        if let Some(pm) = shape.payload.as_deref().and_then(|p| shape.member_named(p)) {
            let ps = model.shape(pm.shape);
            body = obj.get(&pm.name).map(|v| match (ps.kind, v) {
                (ShapeKind::Blob, Value::String(s)) => base64::engine::general_purpose::STANDARD
                    .decode(s)
                    .unwrap_or_default(),
                (ShapeKind::String, Value::String(s)) => s.clone().into_bytes(),
                _ => wire_json(model, ps, Some(pm), v),
            });
        } else {
            body = Some(wire_json(model, shape, None, output));
        }
    }
    let mut r = HttpResponse::new(
        status,
        "application/json",
        body.unwrap_or_else(|| b"{}".to_vec()),
        request_id,
    );
    for (k, v) in headers {
        r.set_header(&k, &v);
    }
    r
}

/// A rest-json error: status from the error, `x-amzn-ErrorType`, JSON body.
pub(crate) fn serialize_error(err: &AwsError, request_id: &str) -> HttpResponse {
    let mut r = HttpResponse::new(err.status, "application/json", error_body(err), request_id);
    r.set_header("x-amzn-errortype", &err.code);
    r
}

/// The operation (index) whose method, URI template and literal query match.
pub(crate) fn routes(model: &ServiceModel, method: &str, path: &str, query: &str) -> Option<usize> {
    model
        .operations
        .iter()
        .enumerate()
        .filter(|(_, o)| o.http.method.eq_ignore_ascii_case(method))
        .filter(|(_, o)| match_path(o, path).is_some() && query_matches(o, query))
        .max_by_key(|(_, o)| (o.uri.literal_count(), o.uri.query.len()))
        .map(|(i, _)| i)
}
