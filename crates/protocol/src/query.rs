//! The query and ec2 protocols: `Action=...&Version=...` parameters (form body and/or
//! query string) parsed into the canonical value, and XML responses and errors.
//!
//! The two differ only in names: query lists are `Name.member.N` (or `Name.N` when
//! flattened) and members keep their `locationName`; ec2 lists are always `Name.N` and
//! members use `queryName`, else `locationName` capitalised, else the member name.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde_json::{Map, Value};

use crate::error::AwsError;
use crate::form;
use crate::model::{Member, Protocol, ServiceModel, Shape, ShapeKind};
use crate::validate::{child_path, message, violation};
use crate::value::scalar_from_str;
use crate::xml::XmlOut;
use crate::{HttpRequest, HttpResponse, Route};

/// Parameters split on `.` into a tree.
#[derive(Default, Debug)]
struct Node<'a> {
    value: Option<Cow<'a, str>>,
    children: BTreeMap<&'a str, Node<'a>>,
}

impl<'a> Node<'a> {
    fn insert(&mut self, key: &'a str, value: Cow<'a, str>) {
        let mut node = self;
        for seg in key.split('.') {
            node = node.children.entry(seg).or_default();
        }
        node.value = Some(value);
    }

    /// Children named `1`, `2`, ... in numeric order.
    fn indexed(&self) -> Vec<&Node<'a>> {
        let mut items: Vec<(u32, &Node)> = self
            .children
            .iter()
            .filter_map(|(k, n)| k.parse::<u32>().ok().filter(|&i| i > 0).map(|i| (i, n)))
            .collect();
        items.sort_by_key(|(i, _)| *i);
        items.into_iter().map(|(_, n)| n).collect()
    }
}

/// Query-protocol parameters of a request: the query string, then a form body.
/// `Err` when the bytes are not valid form encoding or not UTF-8.
fn params<'a>(req: &'a HttpRequest<'a>) -> Result<form::Pairs<'a>, AwsError> {
    let bad = |_| {
        AwsError::malformed(
            Protocol::Query,
            "The request body or query string is not valid UTF-8 form data",
        )
    };
    let mut p = form::pairs(req.query.as_bytes(), true).map_err(bad)?;
    if is_form_body(req) {
        p.extend(form::pairs(req.body, true).map_err(bad)?);
    }
    Ok(p)
}

/// Whether the body is a form (POST with a form content type, or no content type).
pub(crate) fn is_form_body(req: &HttpRequest) -> bool {
    if req.body.is_empty() {
        return false;
    }
    match req
        .headers
        .get(http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    {
        Some(ct) => ct
            .trim_start()
            .to_ascii_lowercase()
            .starts_with("application/x-www-form-urlencoded"),
        None => true,
    }
}

/// The `Action` parameter, from the query string or the form body.
pub(crate) fn action<'a>(req: &'a HttpRequest<'a>) -> Result<Option<Cow<'a, str>>, AwsError> {
    let bad = |_| {
        AwsError::malformed(
            Protocol::Query,
            "The request body or query string is not valid UTF-8 form data",
        )
    };
    if let Some(a) = form::find(req.query.as_bytes(), "Action", true).map_err(bad)? {
        return Ok(Some(a));
    }
    if is_form_body(req) {
        return form::find(req.body, "Action", true).map_err(bad);
    }
    Ok(None)
}

struct Ctx<'m> {
    model: &'m ServiceModel,
    ec2: bool,
    errors: Vec<String>,
}

fn capitalize(s: &str) -> Cow<'_, str> {
    let mut c = s.chars();
    match c.next() {
        Some(f) if f.is_lowercase() => Cow::Owned(f.to_uppercase().chain(c).collect()),
        _ => Cow::Borrowed(s),
    }
}

impl<'m> Ctx<'m> {
    /// The parameter name of a structure member.
    fn key<'s>(&self, m: &'s Member) -> Cow<'s, str>
    where
        'm: 's,
    {
        if self.ec2 {
            if let Some(q) = &m.query_name {
                return Cow::Borrowed(q);
            }
            if let Some(l) = &m.location_name {
                return capitalize(l);
            }
            return Cow::Borrowed(&m.name);
        }
        let shape = self.model.shape(m.shape);
        if shape.kind == ShapeKind::List
            && m.flattened
            && let Some(l) = shape
                .member
                .as_ref()
                .and_then(|i| i.location_name.as_deref())
        {
            return Cow::Borrowed(l);
        }
        Cow::Borrowed(m.wire_name())
    }

    fn structure(&mut self, shape: &Shape, node: &Node, path: &str) -> Value {
        let mut out = Map::new();
        for m in &shape.members {
            let key = self.key(m);
            let Some(child) = node.children.get(key.as_ref()) else {
                continue;
            };
            if let Some(v) = self.value(m, child, &child_path(path, &m.name)) {
                out.insert(m.name.clone(), v);
            }
        }
        Value::Object(out)
    }

    fn value(&mut self, m: &Member, node: &Node, path: &str) -> Option<Value> {
        let shape = self.model.shape(m.shape);
        match shape.kind {
            ShapeKind::Structure => Some(self.structure(shape, node, path)),
            ShapeKind::List => {
                let item = shape.member.as_ref()?;
                let holder = if self.ec2 || m.flattened {
                    Some(node)
                } else {
                    node.children
                        .get(item.location_name.as_deref().unwrap_or("member"))
                };
                let Some(holder) = holder else {
                    // `Name=` with no members is how botocore sends an empty list.
                    return node
                        .value
                        .as_ref()
                        .filter(|v| v.is_empty())
                        .map(|_| Value::Array(vec![]));
                };
                let items = holder.indexed();
                let mut out = Vec::with_capacity(items.len());
                for (i, n) in items.into_iter().enumerate() {
                    if let Some(v) = self.value(item, n, &format!("{path}.{}.member", i + 1)) {
                        out.push(v);
                    }
                }
                Some(Value::Array(out))
            }
            ShapeKind::Map => {
                let (k, v) = (shape.key.as_ref()?, shape.value.as_ref()?);
                let holder = if m.flattened {
                    Some(node)
                } else {
                    node.children.get("entry")
                };
                let Some(holder) = holder else {
                    return node
                        .value
                        .as_ref()
                        .filter(|v| v.is_empty())
                        .map(|_| Value::Object(Map::new()));
                };
                let kname = k.location_name.as_deref().unwrap_or("key");
                let vname = v.location_name.as_deref().unwrap_or("value");
                let mut out = Map::new();
                for entry in holder.indexed() {
                    let Some(key) = entry.children.get(kname).and_then(|n| n.value.as_ref()) else {
                        continue;
                    };
                    let Some(vn) = entry.children.get(vname) else {
                        continue;
                    };
                    if let Some(val) = self.value(v, vn, &format!("{path}.{key}")) {
                        out.insert(key.to_string(), val);
                    }
                }
                Some(Value::Object(out))
            }
            _ => {
                let text = node.value.as_deref()?;
                match scalar_from_str(shape, text) {
                    Ok(v) => Some(v),
                    Err(e) => {
                        let c = format!("Member must be a valid {}", e.expected);
                        let shown = Value::String(text.to_string());
                        self.errors
                            .push(violation(Some(&shown), shape.sensitive, path, &c));
                        None
                    }
                }
            }
        }
    }
}

/// Parse a query or ec2 request for `route` into the canonical input (not yet
/// constraint-validated).
pub(crate) fn parse(route: &Route, req: &HttpRequest) -> Result<Value, AwsError> {
    let model = route.service;
    let Some(input) = route.operation().input else {
        return Ok(Value::Object(Map::new()));
    };
    let shape = model.shape(input);
    if shape.members.is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    let params = params(req)?;
    let mut root = Node::default();
    for (k, v) in &params {
        if k != "Action" && k != "Version" {
            root.insert(k.as_ref(), v.clone());
        }
    }
    let mut ctx = Ctx {
        model,
        ec2: model.protocol() == Protocol::Ec2,
        errors: Vec::new(),
    };
    let v = ctx.structure(shape, &root, "");
    if ctx.errors.is_empty() {
        Ok(v)
    } else {
        Err(AwsError::validation(model.protocol(), message(&ctx.errors)))
    }
}

fn namespace(model: &ServiceModel) -> Option<Cow<'_, str>> {
    let ns = model.metadata.xml_namespace.as_deref()?;
    Some(if model.protocol() == Protocol::Ec2 && !ns.ends_with('/') {
        Cow::Owned(format!("{ns}/"))
    } else {
        Cow::Borrowed(ns)
    })
}

fn xml_response(status: u16, body: Vec<u8>, request_id: &str) -> HttpResponse {
    HttpResponse::new(status, "text/xml", body, request_id)
}

/// A successful query or ec2 response.
pub(crate) fn serialize(route: &Route, output: &Value, request_id: &str) -> HttpResponse {
    let model = route.service;
    let op = route.operation();
    let ns = namespace(model);
    let root = format!("{}Response", op.name);
    let mut x = XmlOut::new();
    x.start(&root, ns.as_deref());
    let out_shape = op.output.map(|id| model.shape(id));
    if model.protocol() == Protocol::Ec2 {
        x.element("requestId", request_id);
        if let Some(s) = out_shape {
            x.members(model, s, output);
        }
    } else {
        if let Some(s) = out_shape {
            match &op.result_wrapper {
                Some(w) => {
                    x.start(w, None);
                    x.members(model, s, output);
                    x.end(w);
                }
                None => x.members(model, s, output),
            }
        }
        x.start("ResponseMetadata", None);
        x.element("RequestId", request_id);
        x.end("ResponseMetadata");
    }
    x.end(&root);
    xml_response(op.http.response_code, x.finish(), request_id)
}

/// An error in the query (`<ErrorResponse>`) or ec2 (`<Response><Errors>`) shape.
pub(crate) fn serialize_error(
    model: &ServiceModel,
    err: &AwsError,
    request_id: &str,
) -> HttpResponse {
    let mut x = XmlOut::new();
    if model.protocol() == Protocol::Ec2 {
        x.start("Response", None);
        x.start("Errors", None);
        x.start("Error", None);
        x.element("Code", &err.code);
        x.element("Message", &err.message);
        x.end("Error");
        x.end("Errors");
        x.element("RequestID", request_id);
        x.end("Response");
    } else {
        let ns = namespace(model);
        x.start("ErrorResponse", ns.as_deref());
        x.start("Error", None);
        x.element(
            "Type",
            if err.sender_fault {
                "Sender"
            } else {
                "Receiver"
            },
        );
        x.element("Code", &err.code);
        x.element("Message", &err.message);
        x.end("Error");
        x.element("RequestId", request_id);
        x.end("ErrorResponse");
    }
    xml_response(err.status, x.finish(), request_id)
}
