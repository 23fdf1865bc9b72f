//! Service models: botocore's `service-2.json`, parsed once into typed, index-linked
//! structures.
//!
//! A [`ServiceModel`] owns its shapes in one `Vec`; every reference between shapes (a
//! structure member, a list member, a map key or value, an operation's input) is a
//! [`ShapeId`] index into that vector, so walking a model per request never looks a
//! name up. Serialization traits that botocore lets either the shape or the member
//! reference carry (`locationName`, `flattened`, `xmlNamespace`, `timestampFormat`)
//! are merged onto [`Member`] at load time, member reference winning, as botocore does.
//!
//! The embedded models (under `crates/protocol/models/`) are reached through
//! [`Services`]; each is parsed on first use and kept for the life of the process.

use std::collections::HashMap;
use std::sync::OnceLock;

use regex::Regex;
use serde::Deserialize;
use serde_json::Value;

/// Index of a shape inside its [`ServiceModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ShapeId(pub u32);

/// Index of an operation inside its [`ServiceModel`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct OperationId(pub u32);

/// The wire protocol a service speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Protocol {
    /// `Action=...` form bodies, XML responses (IAM, STS).
    Query,
    /// EC2's variant of query.
    Ec2,
    /// `X-Amz-Target` + JSON body (KMS, Organizations, CloudTrail).
    Json,
    /// REST with JSON bodies (GuardDuty).
    RestJson,
    /// REST with XML bodies (not implemented by this crate yet).
    RestXml,
}

impl Protocol {
    fn parse(s: &str) -> Result<Self, ModelError> {
        Ok(match s {
            "query" => Protocol::Query,
            "ec2" => Protocol::Ec2,
            "json" => Protocol::Json,
            "rest-json" => Protocol::RestJson,
            "rest-xml" => Protocol::RestXml,
            other => return Err(ModelError::Invalid(format!("unknown protocol {other}"))),
        })
    }

    /// botocore's name for the protocol.
    pub fn as_str(self) -> &'static str {
        match self {
            Protocol::Query => "query",
            Protocol::Ec2 => "ec2",
            Protocol::Json => "json",
            Protocol::RestJson => "rest-json",
            Protocol::RestXml => "rest-xml",
        }
    }
}

/// Error loading a model. Only raised for malformed model files, never for requests.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ModelError {
    /// The file is not valid JSON of the expected form.
    #[error("model is not valid service-2 JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// The file is JSON but inconsistent (unknown shape, unknown protocol, ...).
    #[error("invalid model: {0}")]
    Invalid(String),
}

/// Service-wide metadata.
#[derive(Debug, Clone)]
pub struct Metadata {
    pub protocol: Protocol,
    pub api_version: String,
    /// SigV4 signing name (`signingName`, else `endpointPrefix`).
    pub signing_name: String,
    pub endpoint_prefix: String,
    pub target_prefix: Option<String>,
    pub json_version: Option<String>,
    pub xml_namespace: Option<String>,
    pub service_id: Option<String>,
}

impl Metadata {
    /// Whether an `X-Amz-Target` prefix names this (json) service. AWS accepts the
    /// model's `targetPrefix` (what botocore sends, e.g.
    /// `com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101`) and the Smithy service
    /// shape's name, its last segment (what the Smithy-generated SDKs such as the AWS SDK
    /// for JavaScript v3 send, e.g. `CloudTrail_20131101`); for most services they agree.
    pub fn accepts_target_prefix(&self, prefix: &str) -> bool {
        self.target_prefix.as_deref().is_some_and(|full| {
            full == prefix
                || full
                    .rsplit_once('.')
                    .is_some_and(|(_, shape)| shape == prefix)
        })
    }
}

/// The kind of a shape.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShapeKind {
    Structure,
    List,
    Map,
    String,
    Integer,
    Long,
    Float,
    Double,
    Boolean,
    Blob,
    Timestamp,
}

/// Where a member travels in a REST request or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Location {
    Body,
    Header,
    Headers,
    Uri,
    Querystring,
    StatusCode,
}

/// Timestamp wire formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimestampFormat {
    Iso8601,
    Rfc822,
    UnixTimestamp,
}

/// A modelled error's wire facts.
#[derive(Debug, Clone)]
pub struct ErrorInfo {
    /// The code on the wire (`error.code`, else the shape name).
    pub code: String,
    pub http_status: u16,
    pub sender_fault: bool,
}

/// A reference from a structure, list or map to a shape, with the serialization
/// traits merged from the target shape and the reference itself.
#[derive(Debug, Clone)]
pub struct Member {
    /// Member name as in the model (the canonical key).
    pub name: String,
    pub shape: ShapeId,
    pub location: Location,
    pub location_name: Option<String>,
    pub query_name: Option<String>,
    pub flattened: bool,
    pub xml_namespace: Option<String>,
    pub xml_attribute: bool,
    pub timestamp_format: Option<TimestampFormat>,
    pub idempotency_token: bool,
    pub json_value: bool,
    pub host_label: bool,
    /// Required by the parent structure.
    pub required: bool,
    /// `box: true` on the member reference: the member is nullable even if its
    /// target is a primitive. Absent members stay absent in canonical values either way.
    pub boxed: bool,
}

impl Member {
    /// The name on the wire for JSON bodies and XML elements: `locationName`, else the
    /// member name.
    pub fn wire_name(&self) -> &str {
        self.location_name.as_deref().unwrap_or(&self.name)
    }
}

/// A shape from the model.
#[derive(Debug)]
pub struct Shape {
    pub name: String,
    pub kind: ShapeKind,
    /// Structure members, in model order.
    pub members: Vec<Member>,
    /// List member.
    pub member: Option<Box<Member>>,
    /// Map key and value.
    pub key: Option<Box<Member>>,
    pub value: Option<Box<Member>>,
    pub enum_values: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub pattern: Option<String>,
    compiled_pattern: OnceLock<Option<Pattern>>,
    pub timestamp_format: Option<TimestampFormat>,
    pub flattened: bool,
    pub location_name: Option<String>,
    pub xml_namespace: Option<String>,
    pub error: Option<ErrorInfo>,
    pub exception: bool,
    pub fault: bool,
    pub payload: Option<String>,
    pub sensitive: bool,
    pub boxed: bool,
    pub default: Option<Value>,
    member_index: HashMap<String, usize>,
}

impl Shape {
    /// Structure member by model name.
    pub fn member_named(&self, name: &str) -> Option<&Member> {
        self.member_index.get(name).map(|&i| &self.members[i])
    }

    /// The model's `pattern`, compiled once (anchored: AWS matches the whole value).
    /// `None` when there is no pattern or it compiles with neither engine.
    pub fn pattern_regex(&self) -> Option<&Pattern> {
        self.compiled_pattern
            .get_or_init(|| Pattern::compile(self.pattern.as_deref()?))
            .as_ref()
    }
}

/// A compiled model pattern. The models' patterns are Java regexes: most compile with
/// the `regex` crate; the few with look-arounds use `fancy-regex`; Java's UTF-16
/// surrogate-pair ranges are rewritten as the code points they mean.
#[derive(Debug)]
pub enum Pattern {
    Fast(Regex),
    Backtracking(fancy_regex::Regex),
}

impl Pattern {
    fn compile(java: &str) -> Option<Pattern> {
        let p = java.replace(r"\uD800\uDC00-\uDBFF\uDFFF", r"\x{10000}-\x{10FFFF}");
        let anchored = format!("^(?:{p})$");
        match Regex::new(&anchored) {
            Ok(r) => Some(Pattern::Fast(r)),
            Err(_) => fancy_regex::Regex::new(&anchored)
                .ok()
                .map(Pattern::Backtracking),
        }
    }

    /// Whether the whole of `s` matches. A backtracking engine that gives up (its
    /// step limit) counts as a match: the value is not rejected on a guess.
    pub fn is_match(&self, s: &str) -> bool {
        match self {
            Pattern::Fast(r) => r.is_match(s),
            Pattern::Backtracking(r) => r.is_match(s).unwrap_or(true),
        }
    }
}

/// `http` trait of an operation.
#[derive(Debug, Clone)]
pub struct HttpBinding {
    pub method: String,
    pub request_uri: String,
    pub response_code: u16,
}

/// One segment of a parsed REST `requestUri` path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum UriSegment {
    Literal(String),
    Label(String),
    Greedy(String),
}

/// A parsed `requestUri`: path segments and literal query parameters.
#[derive(Debug, Clone)]
pub struct UriTemplate {
    pub segments: Vec<UriSegment>,
    pub query: Vec<(String, Option<String>)>,
}

impl UriTemplate {
    fn parse(uri: &str) -> Self {
        let (path, query) = uri.split_once('?').unwrap_or((uri, ""));
        let segments = path
            .split('/')
            .filter(|s| !s.is_empty())
            .map(|s| {
                if let Some(inner) = s.strip_prefix('{').and_then(|s| s.strip_suffix('}')) {
                    match inner.strip_suffix('+') {
                        Some(g) => UriSegment::Greedy(g.to_string()),
                        None => UriSegment::Label(inner.to_string()),
                    }
                } else {
                    UriSegment::Literal(s.to_string())
                }
            })
            .collect();
        let query = query
            .split('&')
            .filter(|s| !s.is_empty())
            .map(|kv| match kv.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (kv.to_string(), None),
            })
            .collect();
        UriTemplate { segments, query }
    }

    /// Number of literal segments (more is more specific).
    pub fn literal_count(&self) -> usize {
        self.segments
            .iter()
            .filter(|s| matches!(s, UriSegment::Literal(_)))
            .count()
    }
}

/// An operation.
#[derive(Debug)]
pub struct Operation {
    pub name: String,
    pub http: HttpBinding,
    pub uri: UriTemplate,
    pub input: Option<ShapeId>,
    pub output: Option<ShapeId>,
    /// Query protocol: the `<XResult>` element wrapping the output.
    pub result_wrapper: Option<String>,
    pub errors: Vec<ShapeId>,
    /// The operation is callable without a signature (`authtype: none`).
    pub unsigned: bool,
}

/// A whole service model.
#[derive(Debug)]
pub struct ServiceModel {
    /// Short name (`iam`, `sts`, ...): the model file's stem.
    pub name: String,
    pub metadata: Metadata,
    pub operations: Vec<Operation>,
    pub shapes: Vec<Shape>,
    op_index: HashMap<String, usize>,
    shape_index: HashMap<String, usize>,
    error_index: HashMap<String, usize>,
}

impl ServiceModel {
    /// Parse a botocore `service-2.json`.
    pub fn from_json(name: &str, text: &str) -> Result<Self, ModelError> {
        let raw: RawModel = serde_json::from_str(text)?;
        build(name, raw)
    }

    pub fn protocol(&self) -> Protocol {
        self.metadata.protocol
    }

    pub fn shape(&self, id: ShapeId) -> &Shape {
        &self.shapes[id.0 as usize]
    }

    pub fn operation(&self, id: OperationId) -> &Operation {
        &self.operations[id.0 as usize]
    }

    /// Operation by its model name (`GetCallerIdentity`).
    pub fn operation_id(&self, name: &str) -> Option<OperationId> {
        self.op_index.get(name).map(|&i| OperationId(i as u32))
    }

    pub fn shape_id(&self, name: &str) -> Option<ShapeId> {
        self.shape_index.get(name).map(|&i| ShapeId(i as u32))
    }

    /// A modelled error shape by wire code or shape name.
    pub fn error_shape(&self, code: &str) -> Option<&Shape> {
        self.error_index.get(code).map(|&i| &self.shapes[i])
    }
}

#[derive(Deserialize)]
struct RawModel {
    metadata: RawMetadata,
    operations: HashMap<String, RawOperation>,
    shapes: HashMap<String, RawShape>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawMetadata {
    protocol: String,
    api_version: String,
    signing_name: Option<String>,
    endpoint_prefix: String,
    target_prefix: Option<String>,
    json_version: Option<String>,
    xml_namespace: Option<String>,
    service_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawOperation {
    name: String,
    http: RawHttp,
    input: Option<RawRef>,
    output: Option<RawRef>,
    #[serde(default)]
    errors: Vec<RawRef>,
    authtype: Option<String>,
    #[serde(default)]
    auth: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawHttp {
    method: String,
    request_uri: String,
    response_code: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RawRef {
    shape: String,
    location: Option<String>,
    location_name: Option<String>,
    query_name: Option<String>,
    flattened: Option<bool>,
    xml_namespace: Option<RawXmlNs>,
    #[serde(default)]
    xml_attribute: bool,
    timestamp_format: Option<String>,
    #[serde(default)]
    idempotency_token: bool,
    #[serde(default)]
    jsonvalue: bool,
    #[serde(default)]
    host_label: bool,
    #[serde(default, rename = "box")]
    boxed: bool,
    result_wrapper: Option<String>,
}

/// Structure members in file order (serde_json's `Map` would sort them, and AWS reports
/// validation errors in declaration order).
#[derive(Default)]
struct OrderedMembers(Vec<(String, RawRef)>);

impl<'de> Deserialize<'de> for OrderedMembers {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = OrderedMembers;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a members object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut a: A,
            ) -> Result<OrderedMembers, A::Error> {
                let mut v = Vec::new();
                while let Some((k, r)) = a.next_entry::<String, RawRef>()? {
                    v.push((k, r));
                }
                Ok(OrderedMembers(v))
            }
        }
        d.deserialize_map(V)
    }
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawXmlNs {
    Str(String),
    Obj { uri: Option<String> },
}

impl RawXmlNs {
    fn uri(&self) -> Option<String> {
        match self {
            RawXmlNs::Str(s) => Some(s.clone()),
            RawXmlNs::Obj { uri } => uri.clone(),
        }
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawShape {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    members: OrderedMembers,
    member: Option<RawRef>,
    key: Option<RawRef>,
    value: Option<RawRef>,
    #[serde(default)]
    required: Vec<String>,
    #[serde(default, rename = "enum")]
    enum_values: Vec<String>,
    min: Option<f64>,
    max: Option<f64>,
    pattern: Option<String>,
    timestamp_format: Option<String>,
    #[serde(default)]
    flattened: bool,
    location_name: Option<String>,
    xml_namespace: Option<RawXmlNs>,
    error: Option<RawError>,
    #[serde(default)]
    exception: bool,
    #[serde(default)]
    fault: bool,
    payload: Option<String>,
    #[serde(default)]
    sensitive: bool,
    #[serde(default, rename = "box")]
    boxed: bool,
    default: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RawError {
    code: Option<String>,
    http_status_code: Option<u16>,
    #[serde(default)]
    sender_fault: bool,
}

fn kind_of(s: &str) -> Result<ShapeKind, ModelError> {
    Ok(match s {
        "structure" => ShapeKind::Structure,
        "list" => ShapeKind::List,
        "map" => ShapeKind::Map,
        "string" => ShapeKind::String,
        "integer" => ShapeKind::Integer,
        "long" => ShapeKind::Long,
        "float" => ShapeKind::Float,
        "double" => ShapeKind::Double,
        "boolean" => ShapeKind::Boolean,
        "blob" => ShapeKind::Blob,
        "timestamp" => ShapeKind::Timestamp,
        other => {
            return Err(ModelError::Invalid(format!(
                "unsupported shape type {other}"
            )));
        }
    })
}

fn ts_format(s: Option<&str>) -> Option<TimestampFormat> {
    match s? {
        "iso8601" => Some(TimestampFormat::Iso8601),
        "rfc822" => Some(TimestampFormat::Rfc822),
        "unixTimestamp" => Some(TimestampFormat::UnixTimestamp),
        _ => None,
    }
}

fn location(s: Option<&str>) -> Location {
    match s {
        Some("header") => Location::Header,
        Some("headers") => Location::Headers,
        Some("uri") => Location::Uri,
        Some("querystring") => Location::Querystring,
        Some("statusCode") => Location::StatusCode,
        _ => Location::Body,
    }
}

fn build(name: &str, raw: RawModel) -> Result<ServiceModel, ModelError> {
    let mut names: Vec<&String> = raw.shapes.keys().collect();
    names.sort();
    let shape_index: HashMap<String, usize> = names
        .iter()
        .enumerate()
        .map(|(i, n)| ((*n).clone(), i))
        .collect();
    let lookup = |n: &str| -> Result<ShapeId, ModelError> {
        shape_index
            .get(n)
            .map(|&i| ShapeId(i as u32))
            .ok_or_else(|| ModelError::Invalid(format!("unknown shape {n}")))
    };
    let make_member = |mname: &str, r: &RawRef, required: bool| -> Result<Member, ModelError> {
        let target = raw
            .shapes
            .get(&r.shape)
            .ok_or_else(|| ModelError::Invalid(format!("unknown shape {}", r.shape)))?;
        Ok(Member {
            name: mname.to_string(),
            shape: lookup(&r.shape)?,
            location: location(r.location.as_deref()),
            location_name: r
                .location_name
                .clone()
                .or_else(|| target.location_name.clone()),
            query_name: r.query_name.clone(),
            flattened: r.flattened.unwrap_or(target.flattened),
            xml_namespace: r
                .xml_namespace
                .as_ref()
                .and_then(RawXmlNs::uri)
                .or_else(|| target.xml_namespace.as_ref().and_then(RawXmlNs::uri)),
            xml_attribute: r.xml_attribute,
            timestamp_format: ts_format(r.timestamp_format.as_deref())
                .or_else(|| ts_format(target.timestamp_format.as_deref())),
            idempotency_token: r.idempotency_token,
            json_value: r.jsonvalue,
            host_label: r.host_label,
            required,
            boxed: r.boxed,
        })
    };
    let mut shapes = Vec::with_capacity(names.len());
    for n in &names {
        let s = &raw.shapes[*n];
        let mut members = Vec::with_capacity(s.members.0.len());
        for (mname, r) in &s.members.0 {
            members.push(make_member(
                mname,
                r,
                s.required.iter().any(|q| q == mname),
            )?);
        }
        let member_index = members
            .iter()
            .enumerate()
            .map(|(i, m)| (m.name.clone(), i))
            .collect();
        let sub = |r: &Option<RawRef>, dflt: &str| -> Result<Option<Box<Member>>, ModelError> {
            r.as_ref()
                .map(|r| make_member(dflt, r, false).map(Box::new))
                .transpose()
        };
        shapes.push(Shape {
            name: (*n).clone(),
            kind: kind_of(&s.kind)?,
            members,
            member: sub(&s.member, "member")?,
            key: sub(&s.key, "key")?,
            value: sub(&s.value, "value")?,
            enum_values: s.enum_values.clone(),
            min: s.min,
            max: s.max,
            pattern: s.pattern.clone(),
            compiled_pattern: OnceLock::new(),
            timestamp_format: ts_format(s.timestamp_format.as_deref()),
            flattened: s.flattened,
            location_name: s.location_name.clone(),
            xml_namespace: s.xml_namespace.as_ref().and_then(RawXmlNs::uri),
            error: s.error.as_ref().map(|e| ErrorInfo {
                code: e.code.clone().unwrap_or_else(|| (*n).clone()),
                http_status: e.http_status_code.unwrap_or(400),
                sender_fault: e.sender_fault,
            }),
            exception: s.exception,
            fault: s.fault,
            payload: s.payload.clone(),
            sensitive: s.sensitive,
            boxed: s.boxed,
            default: s.default.clone(),
            member_index,
        });
    }
    let mut error_index = HashMap::new();
    for (i, s) in shapes.iter().enumerate() {
        if s.exception || s.error.is_some() {
            error_index.insert(s.name.clone(), i);
        }
    }
    for (i, s) in shapes.iter().enumerate() {
        if let Some(e) = &s.error {
            error_index.insert(e.code.clone(), i);
        }
    }
    let mut op_names: Vec<&String> = raw.operations.keys().collect();
    op_names.sort();
    let mut operations = Vec::with_capacity(op_names.len());
    for n in op_names {
        let o = &raw.operations[n];
        operations.push(Operation {
            name: o.name.clone(),
            http: HttpBinding {
                method: o.http.method.clone(),
                request_uri: o.http.request_uri.clone(),
                response_code: o.http.response_code.unwrap_or(200),
            },
            uri: UriTemplate::parse(&o.http.request_uri),
            input: o.input.as_ref().map(|r| lookup(&r.shape)).transpose()?,
            output: o.output.as_ref().map(|r| lookup(&r.shape)).transpose()?,
            result_wrapper: o.output.as_ref().and_then(|r| r.result_wrapper.clone()),
            errors: o
                .errors
                .iter()
                .map(|r| lookup(&r.shape))
                .collect::<Result<_, _>>()?,
            unsigned: o.authtype.as_deref() == Some("none")
                || o.auth.iter().any(|a| a == "smithy.api#noAuth"),
        });
    }
    let op_index = operations
        .iter()
        .enumerate()
        .map(|(i, o)| (o.name.clone(), i))
        .collect();
    let m = raw.metadata;
    Ok(ServiceModel {
        name: name.to_string(),
        metadata: Metadata {
            protocol: Protocol::parse(&m.protocol)?,
            api_version: m.api_version,
            signing_name: m.signing_name.unwrap_or_else(|| m.endpoint_prefix.clone()),
            endpoint_prefix: m.endpoint_prefix,
            target_prefix: m.target_prefix,
            json_version: m.json_version,
            xml_namespace: m.xml_namespace,
            service_id: m.service_id,
        },
        operations,
        shapes,
        op_index,
        shape_index,
        error_index,
    })
}

const EMBEDDED: [(&str, &str); 6] = [
    ("iam", include_str!("../models/iam.json")),
    ("sts", include_str!("../models/sts.json")),
    (
        "organizations",
        include_str!("../models/organizations.json"),
    ),
    ("kms", include_str!("../models/kms.json")),
    ("cloudtrail", include_str!("../models/cloudtrail.json")),
    ("guardduty", include_str!("../models/guardduty.json")),
];

static LOADED: [OnceLock<ServiceModel>; 6] = [const { OnceLock::new() }; 6];

/// The service models embedded in this crate.
pub struct Services;

impl Services {
    /// Short names of the embedded services, in a fixed order.
    pub fn names() -> impl Iterator<Item = &'static str> {
        EMBEDDED.iter().map(|(n, _)| *n)
    }

    /// The model for `name` (`iam`, `sts`, ...), parsed on first use.
    pub fn get(name: &str) -> Option<&'static ServiceModel> {
        let i = EMBEDDED.iter().position(|(n, _)| *n == name)?;
        Some(Self::load(i))
    }

    /// Every embedded model.
    pub fn all() -> impl Iterator<Item = &'static ServiceModel> {
        (0..EMBEDDED.len()).map(Self::load)
    }

    fn load(i: usize) -> &'static ServiceModel {
        LOADED[i].get_or_init(|| {
            let (name, text) = EMBEDDED[i];
            // The embedded models are checked by this crate's tests; a failure here is a
            // build defect, not bad input.
            ServiceModel::from_json(name, text)
                .unwrap_or_else(|e| panic!("embedded model {name} is invalid: {e}"))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_embedded_model_loads() {
        for m in Services::all() {
            assert!(!m.operations.is_empty(), "{}", m.name);
            for op in &m.operations {
                assert_eq!(
                    m.operation_id(&op.name)
                        .map(|id| m.operation(id).name.as_str()),
                    Some(op.name.as_str())
                );
            }
        }
        let sts = Services::get("sts").unwrap();
        assert_eq!(sts.protocol(), Protocol::Query);
        assert_eq!(sts.metadata.signing_name, "sts");
        let op = sts.operation(sts.operation_id("AssumeRoleWithWebIdentity").unwrap());
        assert!(op.unsigned);
        assert_eq!(
            op.result_wrapper.as_deref(),
            Some("AssumeRoleWithWebIdentityResult")
        );
        let iam = Services::get("iam").unwrap();
        let e = iam
            .error_shape("ConcurrentModification")
            .unwrap()
            .error
            .as_ref()
            .unwrap();
        assert_eq!((e.http_status, e.sender_fault), (409, true));
        let gd = Services::get("guardduty").unwrap();
        assert_eq!(gd.metadata.protocol, Protocol::RestJson);
        assert_eq!(
            Services::get("kms")
                .unwrap()
                .metadata
                .target_prefix
                .as_deref(),
            Some("TrentService")
        );
    }

    #[test]
    fn patterns_compile_anchored() {
        let iam = Services::get("iam").unwrap();
        let s = iam.shape(iam.shape_id("userNameType").unwrap());
        let re = s.pattern_regex().unwrap();
        assert!(re.is_match("alice"));
        assert!(!re.is_match("a b"));
        let alias = iam.shape(iam.shape_id("accountAliasType").unwrap());
        let re = alias.pattern_regex().unwrap();
        assert!(matches!(re, Pattern::Backtracking(_)));
        assert!(re.is_match("my-alias"));
        assert!(!re.is_match("my--alias"));
        let ct = Services::get("cloudtrail").unwrap();
        let key = ct.shape(ct.shape_id("PartitionKeyName").unwrap());
        assert!(key.pattern_regex().unwrap().is_match("a\u{1F600}b"));
    }
}

#[cfg(test)]
mod pattern_tests {
    use super::*;

    /// Every pattern in the embedded models compiles as a Rust regex (one that did not
    /// would silently go unchecked).
    #[test]
    fn every_pattern_compiles() {
        let mut bad = Vec::new();
        for m in Services::all() {
            for s in &m.shapes {
                if s.pattern.is_some() && s.pattern_regex().is_none() {
                    bad.push(format!("{}.{}: {:?}", m.name, s.name, s.pattern));
                }
            }
        }
        assert!(bad.is_empty(), "{bad:#?}");
    }
}
