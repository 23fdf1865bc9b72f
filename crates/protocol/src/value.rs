//! The canonical value: `serde_json::Value` shaped as the AWS JSON protocol carries it
//! (member names as in the model, blobs base64, timestamps epoch seconds, lists arrays,
//! maps objects). Helpers shared by every protocol to build scalars from wire text.

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

/// Whether `s` is base64 (standard alphabet, padded), as a blob travels in text:
/// exactly the strings the `base64` crate's `STANDARD` engine decodes (a test holds the
/// two together), checked without decoding. The protocol layer only validates a blob;
/// the service that uses it decodes it.
pub(crate) fn is_base64(s: &str) -> bool {
    let bytes = s.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let padding = bytes
        .iter()
        .rev()
        .take(2)
        .take_while(|&&b| b == b'=')
        .count();
    let body = &bytes[..bytes.len() - padding];
    // Digits are below 64 and NOT_BASE64 has the top bit set: one branch for the lot.
    if body.iter().fold(0, |seen, &b| seen | SEXTET[b as usize]) & NOT_BASE64_BIT != 0 {
        return false;
    }
    // A canonical encoder leaves the bits the padding stands for at zero.
    let unused = [0, 0b11, 0b1111][padding];
    body.last()
        .is_none_or(|&b| SEXTET[b as usize] & unused == 0)
}

/// Each byte's value as a base64 digit, or [`NOT_BASE64`].
const SEXTET: [u8; 256] = {
    let mut table = [NOT_BASE64; 256];
    let digits = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut i = 0;
    while i < digits.len() {
        table[digits[i] as usize] = i as u8;
        i += 1;
    }
    table
};
const NOT_BASE64: u8 = 0xFF;
const NOT_BASE64_BIT: u8 = 0x80;

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

#[cfg(test)]
mod tests {
    use base64::Engine;
    use proptest::prelude::*;

    use super::is_base64;

    fn decodes(s: &str) -> bool {
        base64::engine::general_purpose::STANDARD.decode(s).is_ok()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(5000))]

        /// Near-base64 text (the alphabet, padding, and a few bytes outside it).
        #[test]
        fn agrees_with_the_base64_crate(s in "[A-Za-z0-9+/=_ -]{0,12}") {
            prop_assert_eq!(is_base64(&s), decodes(&s), "{:?}", s);
        }

        #[test]
        fn takes_whatever_the_base64_crate_writes(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
            let text = base64::engine::general_purpose::STANDARD.encode(&bytes);
            prop_assert!(is_base64(&text));
        }
    }

    #[test]
    fn rejects_padding_with_bits_left_over_and_misplaced_padding() {
        for s in [
            "AB==", "AAB=", "A===", "====", "=AAA", "AA=A", "AAA", "AAAA\n",
        ] {
            assert!(!is_base64(s), "{s:?}");
            assert!(!decodes(s), "{s:?}");
        }
        for s in ["", "AA==", "AAA=", "AAAA", "+/+/"] {
            assert!(is_base64(s), "{s:?}");
        }
    }
}
