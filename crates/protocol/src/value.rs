//! The canonical value: `serde_json::Value` shaped as the AWS JSON protocol carries it
//! (member names as in the model, blobs base64, timestamps epoch seconds, lists arrays,
//! maps objects). Helpers shared by every protocol to build scalars from wire text.

use base64::Engine;
use serde_json::{Number, Value};

use crate::model::{Member, Shape, ShapeKind, TimestampFormat};
use crate::timestamp;

/// Why a wire string did not convert to its shape's type.
#[derive(Debug)]
pub(crate) struct TypeMismatch {
    pub expected: &'static str,
}

pub(crate) fn type_name(kind: ShapeKind) -> &'static str {
    match kind {
        ShapeKind::Structure => "structure",
        ShapeKind::List => "list",
        ShapeKind::Map => "map",
        ShapeKind::String => "string",
        ShapeKind::Integer => "integer",
        ShapeKind::Long => "long",
        ShapeKind::Float => "float",
        ShapeKind::Double => "double",
        ShapeKind::Boolean => "boolean",
        ShapeKind::Blob => "blob",
        ShapeKind::Timestamp => "timestamp",
    }
}

/// Whether `s` is base64 (standard alphabet, padded), as a blob travels in text.
pub(crate) fn is_base64(s: &str) -> bool {
    base64::engine::general_purpose::STANDARD.decode(s).is_ok()
}

/// Convert wire text (query parameter, URI label, header) to a canonical scalar. Blob
/// text must already be base64, as every one of those positions carries it.
pub(crate) fn scalar_from_str(shape: &Shape, s: &str) -> Result<Value, TypeMismatch> {
    let bad = || TypeMismatch {
        expected: type_name(shape.kind),
    };
    Ok(match shape.kind {
        ShapeKind::String => Value::String(s.to_string()),
        ShapeKind::Integer => {
            let n: i32 = s.trim().parse().map_err(|_| bad())?;
            Value::Number(n.into())
        }
        ShapeKind::Long => {
            let n: i64 = s.trim().parse().map_err(|_| bad())?;
            Value::Number(n.into())
        }
        ShapeKind::Float | ShapeKind::Double => {
            let n: f64 = s.trim().parse().map_err(|_| bad())?;
            Value::Number(Number::from_f64(n).ok_or_else(bad)?)
        }
        ShapeKind::Boolean => match s.trim() {
            t if t.eq_ignore_ascii_case("true") => Value::Bool(true),
            t if t.eq_ignore_ascii_case("false") => Value::Bool(false),
            _ => return Err(bad()),
        },
        ShapeKind::Blob if is_base64(s) => Value::String(s.to_string()),
        ShapeKind::Blob => return Err(bad()),
        ShapeKind::Timestamp => timestamp::to_value(timestamp::parse_any(s).ok_or_else(bad)?),
        ShapeKind::Structure | ShapeKind::List | ShapeKind::Map => return Err(bad()),
    })
}

/// Render a canonical scalar as wire text (XML text, headers, query strings).
/// `default_ts` is the protocol's timestamp format for this location.
pub(crate) fn scalar_to_string(
    shape: &Shape,
    m: Option<&Member>,
    v: &Value,
    default_ts: TimestampFormat,
) -> Option<String> {
    Some(match (shape.kind, v) {
        (ShapeKind::Timestamp, v) => {
            let secs = match v {
                Value::Number(n) => n.as_f64()?,
                Value::String(s) => timestamp::parse_any(s)?,
                _ => return None,
            };
            let fmt = m
                .and_then(|m| m.timestamp_format)
                .or(shape.timestamp_format)
                .unwrap_or(default_ts);
            match fmt {
                TimestampFormat::Iso8601 => timestamp::format_iso8601(secs),
                TimestampFormat::Rfc822 => timestamp::format_rfc822(secs),
                TimestampFormat::UnixTimestamp => match timestamp::to_value(secs) {
                    Value::Number(n) => n.to_string(),
                    _ => return None,
                },
            }
        }
        (_, Value::String(s)) => s.clone(),
        (_, Value::Bool(b)) => if *b { "true" } else { "false" }.to_string(),
        (_, Value::Number(n)) => n.to_string(),
        _ => return None,
    })
}
