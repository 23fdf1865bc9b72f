//! Constraint validation of a canonical input value against its shape, as AWS's front
//! end does it: required members, enum values, length and value ranges, patterns.
//! Produces AWS's message: `2 validation errors detected: Value 'x' at 'userName'
//! failed to satisfy constraint: Member must ...; ...`. Type checking happens earlier,
//! when each protocol builds the canonical value.

use std::fmt::{self, Write};

use serde_json::Value;

use crate::error::AwsError;
use crate::model::{Member, ServiceModel, Shape, ShapeId, ShapeKind};

/// AWS's path spelling of a member: its model name with the first letter lowercased.
fn write_segment(f: &mut fmt::Formatter<'_>, name: &str) -> fmt::Result {
    let mut c = name.chars();
    match c.next() {
        Some(first) => {
            for lower in first.to_lowercase() {
                f.write_char(lower)?;
            }
            f.write_str(c.as_str())
        }
        None => Ok(()),
    }
}

/// Where a value sits in an input, in AWS's spelling (`tags.1.member.value`): a chain
/// of borrowed links on the stack, written out only when an error names it.
#[derive(Clone, Copy)]
pub(crate) enum Path<'a> {
    Root,
    /// A structure's member, by its model name.
    Member(&'a Path<'a>, &'a str),
    /// A list's item, by its index from 0 (AWS counts from 1).
    Item(&'a Path<'a>, usize),
    /// A map's entry, by its key.
    Entry(&'a Path<'a>, &'a str),
    /// The key of a map's entries.
    Key(&'a Path<'a>),
    /// The value of a map's entry, by its key.
    Value(&'a Path<'a>, &'a str),
}

impl fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Path::Root => Ok(()),
            Path::Member(Path::Root, name) => write_segment(f, name),
            Path::Member(parent, name) => {
                write!(f, "{parent}.")?;
                write_segment(f, name)
            }
            Path::Item(parent, i) => write!(f, "{parent}.{}.member", i + 1),
            Path::Entry(parent, key) => write!(f, "{parent}.{key}"),
            Path::Key(parent) => write!(f, "{parent}.key"),
            Path::Value(parent, key) => write!(f, "{parent}.{key}.value"),
        }
    }
}

/// Join a parent path (already written out; empty at the top) and a member name.
pub(crate) fn child_path(parent: &str, name: &str) -> String {
    match parent {
        "" => Path::Member(&Path::Root, name).to_string(),
        parent => format!("{parent}.{}", Path::Member(&Path::Root, name)),
    }
}

fn display(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Array(a) => format!("[{}]", a.iter().map(display).collect::<Vec<_>>().join(", ")),
        other => other.to_string(),
    }
}

/// One failed constraint, rendered in AWS's words.
pub(crate) fn violation(
    value: Option<&Value>,
    sensitive: bool,
    path: &str,
    constraint: &str,
) -> String {
    match value {
        None => format!("Value null at '{path}' failed to satisfy constraint: {constraint}"),
        Some(_) if sensitive => {
            format!("Value at '{path}' failed to satisfy constraint: {constraint}")
        }
        Some(v) => format!(
            "Value '{}' at '{path}' failed to satisfy constraint: {constraint}",
            display(v)
        ),
    }
}

/// The summary message for a list of violations.
pub(crate) fn message(violations: &[String]) -> String {
    let n = violations.len();
    format!(
        "{n} validation error{} detected: {}",
        if n == 1 { "" } else { "s" },
        violations.join("; ")
    )
}

/// Validate `value` (the canonical input) against `shape`. `Err` carries AWS's
/// validation error for the service's protocol.
pub fn validate(model: &ServiceModel, shape: ShapeId, value: &Value) -> Result<(), AwsError> {
    let mut out = Vec::new();
    walk(
        model,
        model.shape(shape),
        false,
        value,
        &Path::Root,
        &mut out,
    );
    if out.is_empty() {
        Ok(())
    } else {
        Err(AwsError::validation(model.protocol(), message(&out)))
    }
}

fn fmt_num(n: f64) -> String {
    if n.fract() == 0.0 {
        format!("{}", n as i64)
    } else {
        format!("{n}")
    }
}

fn walk(
    model: &ServiceModel,
    shape: &Shape,
    sensitive: bool,
    v: &Value,
    path: &Path<'_>,
    out: &mut Vec<String>,
) {
    let sensitive = sensitive || shape.sensitive;
    match shape.kind {
        ShapeKind::Structure => {
            let Value::Object(obj) = v else { return };
            for m in &shape.members {
                let p = Path::Member(path, &m.name);
                match obj.get(&m.name) {
                    None | Some(Value::Null) if m.required => {
                        let p = p.to_string();
                        out.push(violation(None, false, &p, "Member must not be null"));
                    }
                    None | Some(Value::Null) => {}
                    Some(child) => member(model, m, sensitive, child, &p, out),
                }
            }
        }
        ShapeKind::List => {
            let Value::Array(items) = v else { return };
            length(shape, sensitive, v, items.len(), path, out);
            if let Some(m) = &shape.member {
                for (i, item) in items.iter().enumerate() {
                    member(model, m, sensitive, item, &Path::Item(path, i), out);
                }
            }
        }
        ShapeKind::Map => {
            let Value::Object(obj) = v else { return };
            length(shape, sensitive, v, obj.len(), path, out);
            for (k, item) in obj {
                if let Some(km) = &shape.key {
                    let kv = Value::String(k.clone());
                    member(model, km, sensitive, &kv, &Path::Key(path), out);
                }
                if let Some(vm) = &shape.value {
                    member(model, vm, sensitive, item, &Path::Value(path, k), out);
                }
            }
        }
        ShapeKind::String => {
            let Value::String(s) = v else { return };
            if !shape.enum_values.is_empty() && !shape.enum_values.iter().any(|e| e == s) {
                let c = format!(
                    "Member must satisfy enum value set: [{}]",
                    shape.enum_values.join(", ")
                );
                out.push(violation(Some(v), sensitive, &path.to_string(), &c));
            }
            length(shape, sensitive, v, s.chars().count(), path, out);
            if let Some(re) = shape.pattern_regex()
                && !re.is_match(s)
            {
                let c = format!(
                    "Member must satisfy regular expression pattern: {}",
                    shape.pattern.as_deref().unwrap_or_default()
                );
                out.push(violation(Some(v), sensitive, &path.to_string(), &c));
            }
        }
        ShapeKind::Blob => {
            // The protocol parsers let only valid (padded) base64 through.
            let Value::String(s) = v else { return };
            let padding = s.bytes().rev().take_while(|&b| b == b'=').count();
            length(
                shape,
                sensitive,
                v,
                (s.len() / 4 * 3).saturating_sub(padding.min(2)),
                path,
                out,
            );
        }
        ShapeKind::Integer | ShapeKind::Long | ShapeKind::Float | ShapeKind::Double => {
            let Some(n) = v.as_f64() else { return };
            let mut c = String::new();
            if let Some(min) = shape.min.filter(|&m| n < m) {
                let _ = write!(
                    c,
                    "Member must have value greater than or equal to {}",
                    fmt_num(min)
                );
            } else if let Some(max) = shape.max.filter(|&m| n > m) {
                let _ = write!(
                    c,
                    "Member must have value less than or equal to {}",
                    fmt_num(max)
                );
            }
            if !c.is_empty() {
                out.push(violation(Some(v), sensitive, &path.to_string(), &c));
            }
        }
        ShapeKind::Boolean | ShapeKind::Timestamp => {}
    }
}

fn member(
    model: &ServiceModel,
    m: &Member,
    sensitive: bool,
    v: &Value,
    path: &Path<'_>,
    out: &mut Vec<String>,
) {
    walk(model, model.shape(m.shape), sensitive, v, path, out);
}

fn length(
    shape: &Shape,
    sensitive: bool,
    v: &Value,
    len: usize,
    path: &Path<'_>,
    out: &mut Vec<String>,
) {
    let len = len as f64;
    if let Some(min) = shape.min.filter(|&m| len < m) {
        let c = format!(
            "Member must have length greater than or equal to {}",
            fmt_num(min)
        );
        out.push(violation(Some(v), sensitive, &path.to_string(), &c));
    }
    if let Some(max) = shape.max.filter(|&m| len > m) {
        let c = format!(
            "Member must have length less than or equal to {}",
            fmt_num(max)
        );
        out.push(violation(Some(v), sensitive, &path.to_string(), &c));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Services;
    use serde_json::json;

    fn check(service: &str, op: &str, input: Value) -> Result<(), AwsError> {
        let m = Services::get(service).unwrap();
        let o = m.operation(m.operation_id(op).unwrap());
        validate(m, o.input.unwrap(), &input)
    }

    #[test]
    fn aws_messages() {
        let e = check("iam", "CreateUser", json!({"UserName": "a b"})).unwrap_err();
        assert_eq!(e.code, "ValidationError");
        assert_eq!(
            e.message,
            "1 validation error detected: Value 'a b' at 'userName' failed to satisfy constraint: \
             Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        );
        let e = check("iam", "CreateUser", json!({"UserName": ""})).unwrap_err();
        assert_eq!(
            e.message,
            "2 validation errors detected: Value '' at 'userName' failed to satisfy constraint: \
             Member must have length greater than or equal to 1; Value '' at 'userName' failed to \
             satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]+"
        );
        let e = check("iam", "CreateUser", json!({})).unwrap_err();
        assert_eq!(
            e.message,
            "1 validation error detected: Value null at 'userName' failed to satisfy constraint: Member must not be null"
        );
        let e = check("iam", "ListUsers", json!({"MaxItems": 0})).unwrap_err();
        assert!(e.message.ends_with("Value '0' at 'maxItems' failed to satisfy constraint: Member must have value greater than or equal to 1"), "{}", e.message);
        let e = check("kms", "CreateKey", json!({"KeyUsage": "NOPE"})).unwrap_err();
        assert_eq!(e.code, "ValidationException");
        assert!(e.message.contains("Value 'NOPE' at 'keyUsage' failed to satisfy constraint: Member must satisfy enum value set: [SIGN_VERIFY, ENCRYPT_DECRYPT"), "{}", e.message);
        let e = check(
            "iam",
            "CreateUser",
            json!({"UserName": "ok", "Tags": [{"Key": "k"}]}),
        )
        .unwrap_err();
        assert!(
            e.message.contains("Value null at 'tags.1.member.value'"),
            "{}",
            e.message
        );
        assert!(
            check(
                "iam",
                "CreateUser",
                json!({"UserName": "alice", "Path": "/"})
            )
            .is_ok()
        );
    }

    #[test]
    fn sensitive_values_are_hidden() {
        let e = check(
            "iam",
            "CreateLoginProfile",
            json!({"UserName": "a", "Password": ""}),
        )
        .unwrap_err();
        assert!(e.message.contains("Value at 'password'"), "{}", e.message);
    }
}
