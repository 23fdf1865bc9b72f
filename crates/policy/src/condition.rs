//! Condition operators: parsing operator names, compiling values to their typed
//! form once, and evaluating against a request.
//!
//! Semantics (IAM User Guide, "Condition operators" and "Single-valued vs.
//! multivalued context keys"): several values of one key are ORed (NORed for
//! negated operators); a missing key makes a positive operator false and a negated
//! one true; `...IfExists` makes a missing key true; `ForAllValues` is true for a
//! missing key or empty set, `ForAnyValue` false.

use crate::context::{KeyRef, Request};
use crate::pattern::{Pattern, Resolver};
use std::net::IpAddr;

/// The operator without its set qualifier and `IfExists` suffix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum BaseOp {
    StringEquals,
    StringNotEquals,
    StringEqualsIgnoreCase,
    StringNotEqualsIgnoreCase,
    StringLike,
    StringNotLike,
    NumericEquals,
    NumericNotEquals,
    NumericLessThan,
    NumericLessThanEquals,
    NumericGreaterThan,
    NumericGreaterThanEquals,
    DateEquals,
    DateNotEquals,
    DateLessThan,
    DateLessThanEquals,
    DateGreaterThan,
    DateGreaterThanEquals,
    Bool,
    BinaryEquals,
    IpAddress,
    NotIpAddress,
    ArnEquals,
    ArnLike,
    ArnNotEquals,
    ArnNotLike,
    Null,
}

const OPS: &[(&str, BaseOp)] = &[
    ("StringEquals", BaseOp::StringEquals),
    ("StringNotEquals", BaseOp::StringNotEquals),
    ("StringEqualsIgnoreCase", BaseOp::StringEqualsIgnoreCase),
    (
        "StringNotEqualsIgnoreCase",
        BaseOp::StringNotEqualsIgnoreCase,
    ),
    ("StringLike", BaseOp::StringLike),
    ("StringNotLike", BaseOp::StringNotLike),
    ("NumericEquals", BaseOp::NumericEquals),
    ("NumericNotEquals", BaseOp::NumericNotEquals),
    ("NumericLessThan", BaseOp::NumericLessThan),
    ("NumericLessThanEquals", BaseOp::NumericLessThanEquals),
    ("NumericGreaterThan", BaseOp::NumericGreaterThan),
    ("NumericGreaterThanEquals", BaseOp::NumericGreaterThanEquals),
    ("DateEquals", BaseOp::DateEquals),
    ("DateNotEquals", BaseOp::DateNotEquals),
    ("DateLessThan", BaseOp::DateLessThan),
    ("DateLessThanEquals", BaseOp::DateLessThanEquals),
    ("DateGreaterThan", BaseOp::DateGreaterThan),
    ("DateGreaterThanEquals", BaseOp::DateGreaterThanEquals),
    ("Bool", BaseOp::Bool),
    ("BinaryEquals", BaseOp::BinaryEquals),
    ("IpAddress", BaseOp::IpAddress),
    ("NotIpAddress", BaseOp::NotIpAddress),
    ("ArnEquals", BaseOp::ArnEquals),
    ("ArnLike", BaseOp::ArnLike),
    ("ArnNotEquals", BaseOp::ArnNotEquals),
    ("ArnNotLike", BaseOp::ArnNotLike),
    ("Null", BaseOp::Null),
];

/// The value type an operator works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    String,
    Numeric,
    Date,
    Bool,
    Binary,
    Ip,
    Arn,
    Null,
}

impl BaseOp {
    /// The value type this operator compares.
    pub fn family(self) -> Family {
        use BaseOp::*;
        match self {
            StringEquals
            | StringNotEquals
            | StringEqualsIgnoreCase
            | StringNotEqualsIgnoreCase
            | StringLike
            | StringNotLike => Family::String,
            NumericEquals
            | NumericNotEquals
            | NumericLessThan
            | NumericLessThanEquals
            | NumericGreaterThan
            | NumericGreaterThanEquals => Family::Numeric,
            DateEquals
            | DateNotEquals
            | DateLessThan
            | DateLessThanEquals
            | DateGreaterThan
            | DateGreaterThanEquals => Family::Date,
            Bool => Family::Bool,
            BinaryEquals => Family::Binary,
            IpAddress | NotIpAddress => Family::Ip,
            ArnEquals | ArnLike | ArnNotEquals | ArnNotLike => Family::Arn,
            Null => Family::Null,
        }
    }

    /// The operator's name as written in policies.
    pub fn name(self) -> &'static str {
        OPS.iter().find(|(_, o)| *o == self).map_or("", |(n, _)| n)
    }
    /// Negated operators: true for a missing key, NOR over values.
    pub fn is_negated(self) -> bool {
        use BaseOp::*;
        matches!(
            self,
            StringNotEquals
                | StringNotEqualsIgnoreCase
                | StringNotLike
                | NumericNotEquals
                | DateNotEquals
                | NotIpAddress
                | ArnNotEquals
                | ArnNotLike
        )
    }
    /// Operators whose values may hold policy variables.
    pub fn takes_variables(self) -> bool {
        use BaseOp::*;
        matches!(
            self,
            StringEquals
                | StringNotEquals
                | StringEqualsIgnoreCase
                | StringNotEqualsIgnoreCase
                | StringLike
                | StringNotLike
                | ArnEquals
                | ArnLike
                | ArnNotEquals
                | ArnNotLike
        )
    }
}

/// `ForAllValues:` / `ForAnyValue:` prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SetQualifier {
    None,
    ForAllValues,
    ForAnyValue,
}

/// A full operator name, e.g. `ForAnyValue:StringLikeIfExists`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Operator {
    pub base: BaseOp,
    pub set: SetQualifier,
    pub if_exists: bool,
}

impl Operator {
    /// Parses an operator name; `None` if it is not one IAM knows.
    pub fn parse(s: &str) -> Option<Operator> {
        let (set, rest) = if let Some(r) = s.strip_prefix("ForAllValues:") {
            (SetQualifier::ForAllValues, r)
        } else if let Some(r) = s.strip_prefix("ForAnyValue:") {
            (SetQualifier::ForAnyValue, r)
        } else {
            (SetQualifier::None, s)
        };
        let (rest, if_exists) = match rest.strip_suffix("IfExists") {
            Some(r) => (r, true),
            None => (rest, false),
        };
        let base = OPS.iter().find(|(n, _)| *n == rest)?.1;
        if base == BaseOp::Null && (if_exists || set != SetQualifier::None) {
            return None;
        }
        Some(Operator {
            base,
            set,
            if_exists,
        })
    }
}

/// An IPv4 or IPv6 network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    pub(crate) fn parse(s: &str) -> Option<Cidr> {
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|&p| p <= max)?,
            None => max,
        };
        Some(Cidr { addr, prefix })
    }
    pub(crate) fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, ip) {
            (IpAddr::V4(n), IpAddr::V4(i)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(n) & mask == u32::from(i) & mask
            }
            (IpAddr::V6(n), IpAddr::V6(i)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(n) & mask == u128::from(i) & mask
            }
            _ => false,
        }
    }
}

fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str, range: std::ops::RangeInclusive<u32>) -> Option<u32> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok().filter(|n| range.contains(n))
}

/// Parses an ISO 8601 date/time (`2024-01-31`, `2024-01-31T12:00:00Z`, with
/// fractions or an offset) or epoch seconds, into epoch milliseconds.
pub(crate) fn parse_date(s: &str) -> Option<i64> {
    let s = s.trim();
    if !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit() || b == b'.') && !s.contains('-') {
        let secs: f64 = s.parse().ok()?;
        return Some((secs * 1000.0) as i64);
    }
    let (date, time) = match s.find(['T', 't', ' ']) {
        Some(i) => (&s[..i], Some(&s[i + 1..])),
        None => (s, None),
    };
    let mut dp = date.split('-');
    let y: i64 = num(dp.next()?, 0..=9999)? as i64;
    let mo = num(dp.next().unwrap_or("01"), 1..=12)?;
    let d = num(dp.next().unwrap_or("01"), 1..=31)?;
    if dp.next().is_some() {
        return None;
    }
    let mut ms = days_from_civil(y, mo, d) * 86_400_000;
    if let Some(t) = time {
        let (clock, offset) = if let Some(c) = t.strip_suffix(['Z', 'z']) {
            (c, 0i64)
        } else if let Some(i) = t.rfind(['+', '-']).filter(|_| t.is_ascii()) {
            let (c, o) = t.split_at(i);
            let sign = if o.starts_with('-') { -1 } else { 1 };
            let o = &o[1..];
            let (oh, om) = o
                .split_once(':')
                .unwrap_or((&o[..o.len().min(2)], &o[o.len().min(2)..]));
            let om = if om.is_empty() { 0 } else { num(om, 0..=59)? };
            (c, sign * (num(oh, 0..=23)? as i64 * 60 + om as i64))
        } else {
            (t, 0)
        };
        let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
        let mut parts = hms.split(':');
        let h = num(parts.next()?, 0..=24)? as i64;
        let mi = num(parts.next().unwrap_or("0"), 0..=59)? as i64;
        let sec = num(parts.next().unwrap_or("0"), 0..=60)? as i64;
        if parts.next().is_some() {
            return None;
        }
        let frac_ms = if frac.is_empty() {
            0
        } else {
            let digits: String = frac.chars().take(3).collect();
            let padded = format!("{digits:0<3}");
            num(&padded, 0..=999)? as i64
        };
        ms += ((h * 60 + mi - offset) * 60 + sec) * 1000 + frac_ms;
    }
    Some(ms)
}

fn parse_bool(s: &str) -> Option<bool> {
    if s.eq_ignore_ascii_case("true") {
        Some(true)
    } else if s.eq_ignore_ascii_case("false") {
        Some(false)
    } else {
        None
    }
}

/// An ARN pattern matched segment by segment (ArnLike / ArnEquals).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ArnPat {
    Segments(Box<[Pattern; 6]>),
    Whole(Pattern),
}

impl ArnPat {
    fn compile(s: &str, vars: bool) -> ArnPat {
        let segs: Vec<&str> = s.splitn(6, ':').collect();
        if segs.len() == 6 {
            let p: Vec<Pattern> = segs
                .iter()
                .map(|s| Pattern::compile(s, true, vars, false))
                .collect();
            match <[Pattern; 6]>::try_from(p) {
                Ok(a) => ArnPat::Segments(Box::new(a)),
                Err(_) => ArnPat::Whole(Pattern::compile(s, true, vars, false)),
            }
        } else {
            ArnPat::Whole(Pattern::compile(s, true, vars, false))
        }
    }
    fn matches(&self, v: &str, r: &dyn Resolver) -> bool {
        match self {
            ArnPat::Whole(p) => p.matches(v, r),
            ArnPat::Segments(segs) => {
                let mut it = v.splitn(6, ':');
                segs.iter()
                    .all(|p| it.next().is_some_and(|s| p.matches(s, r)))
            }
        }
    }
    pub(crate) fn patterns(&self) -> Vec<&Pattern> {
        match self {
            ArnPat::Whole(p) => vec![p],
            ArnPat::Segments(s) => s.iter().collect(),
        }
    }
}

/// Policy-side values, typed for the operator. `None`: a value that does not parse
/// for this operator (it matches nothing).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Values {
    Str(Box<[Pattern]>),
    Arn(Box<[ArnPat]>),
    Num(Box<[Option<f64>]>),
    Date(Box<[Option<i64>]>),
    Bool(Box<[Option<bool>]>),
    Bin(Box<[Box<str>]>),
    Ip(Box<[Option<Cidr>]>),
    Null(Option<bool>),
}

/// A compiled condition: one operator applied to one key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Condition {
    pub(crate) op: Operator,
    pub(crate) key: KeyRef,
    pub(crate) values: Values,
}

impl Condition {
    /// Compiles one entry; `vars`: the policy version substitutes variables.
    pub(crate) fn compile(op: Operator, key: &str, values: &[String], vars: bool) -> Condition {
        let vars = vars && op.base.takes_variables();
        let wild = matches!(op.base, BaseOp::StringLike | BaseOp::StringNotLike);
        let values = match op.base.family() {
            Family::String => Values::Str(
                values
                    .iter()
                    .map(|v| Pattern::compile(v, wild, vars, false))
                    .collect(),
            ),
            Family::Arn => Values::Arn(values.iter().map(|v| ArnPat::compile(v, vars)).collect()),
            Family::Numeric => Values::Num(
                values
                    .iter()
                    .map(|v| v.trim().parse::<f64>().ok())
                    .collect(),
            ),
            Family::Date => Values::Date(values.iter().map(|v| parse_date(v)).collect()),
            Family::Bool => Values::Bool(values.iter().map(|v| parse_bool(v)).collect()),
            Family::Binary => Values::Bin(values.iter().map(|v| v.as_str().into()).collect()),
            Family::Ip => Values::Ip(values.iter().map(|v| Cidr::parse(v)).collect()),
            Family::Null => Values::Null(values.first().and_then(|v| parse_bool(v))),
        };
        Condition {
            op,
            key: KeyRef::parse(key),
            values,
        }
    }

    /// Does one request value satisfy the *positive* form of the operator against
    /// any policy value?
    fn positive(&self, v: &str, r: &dyn Resolver) -> bool {
        use BaseOp::*;
        use std::cmp::Ordering::*;
        let ord_ok = |o: std::cmp::Ordering| match self.op.base {
            NumericEquals | NumericNotEquals | DateEquals | DateNotEquals => o == Equal,
            NumericLessThan | DateLessThan => o == Less,
            NumericLessThanEquals | DateLessThanEquals => o != Greater,
            NumericGreaterThan | DateGreaterThan => o == Greater,
            _ => o != Less,
        };
        match &self.values {
            Values::Str(ps) => match self.op.base {
                StringEqualsIgnoreCase | StringNotEqualsIgnoreCase => {
                    ps.iter().any(|p| p.eq_ignore_case(v, r))
                }
                _ => ps.iter().any(|p| p.matches(v, r)),
            },
            Values::Arn(ps) => ps.iter().any(|p| p.matches(v, r)),
            Values::Num(ns) => match v.trim().parse::<f64>() {
                Ok(x) => ns
                    .iter()
                    .flatten()
                    .any(|n| x.partial_cmp(n).is_some_and(ord_ok)),
                Err(_) => false,
            },
            Values::Date(ds) => match parse_date(v) {
                Some(x) => ds.iter().flatten().any(|d| ord_ok(x.cmp(d))),
                None => false,
            },
            Values::Bool(bs) => match parse_bool(v) {
                Some(x) => bs.iter().flatten().any(|b| *b == x),
                None => false,
            },
            Values::Bin(bs) => bs.iter().any(|b| **b == *v),
            Values::Ip(cs) => match v.trim().parse::<IpAddr>() {
                Ok(ip) => cs.iter().flatten().any(|c| c.contains(ip)),
                Err(_) => false,
            },
            Values::Null(_) => false,
        }
    }

    /// Evaluates the condition for `req`.
    pub(crate) fn eval(&self, req: &Request<'_>) -> bool {
        let val = req.lookup(&self.key);
        if let Values::Null(want_absent) = self.values {
            let present = val.is_some_and(|v| !v.is_empty());
            return match want_absent {
                Some(true) => !present,
                Some(false) => present,
                None => false,
            };
        }
        let neg = self.op.base.is_negated();
        match self.op.set {
            SetQualifier::None => match val {
                None => self.op.if_exists || neg,
                Some(v) => {
                    let any = v.any(|x| self.positive(x, req));
                    any != neg
                }
            },
            SetQualifier::ForAllValues => match val {
                None => true,
                Some(v) if v.is_empty() => true,
                Some(v) => v.all(|x| self.positive(x, req) != neg),
            },
            SetQualifier::ForAnyValue => match val {
                None => self.op.if_exists,
                Some(v) if v.is_empty() => false,
                Some(v) => v.any(|x| self.positive(x, req) != neg),
            },
        }
    }
}

pub(crate) fn values_heap(v: &Values) -> usize {
    use crate::compile::pattern_heap;
    let sz = std::mem::size_of::<Pattern>();
    match v {
        Values::Str(p) => p.iter().map(|p| sz + pattern_heap(p)).sum(),
        Values::Arn(a) => a
            .iter()
            .map(|a| {
                a.patterns()
                    .into_iter()
                    .map(|p| sz + pattern_heap(p))
                    .sum::<usize>()
                    + 8
            })
            .sum(),
        Values::Num(n) => n.len() * 16,
        Values::Date(d) => d.len() * 16,
        Values::Bool(b) => b.len(),
        Values::Bin(b) => b.iter().map(|b| b.len() + 16).sum(),
        Values::Ip(i) => i.len() * std::mem::size_of::<Option<Cidr>>(),
        Values::Null(_) => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(parse_date("1970-01-01T00:00:00Z"), Some(0));
        assert_eq!(parse_date("1970-01-02"), Some(86_400_000));
        assert_eq!(parse_date("86400"), Some(86_400_000));
        assert_eq!(
            parse_date("2020-01-01T01:00:00+01:00"),
            parse_date("2020-01-01T00:00:00Z")
        );
        assert_eq!(
            parse_date("2020-01-01T00:00:00.5Z"),
            parse_date("2020-01-01T00:00:00Z").map(|v| v + 500)
        );
        assert_eq!(parse_date("2020-13-01"), None);
        assert_eq!(parse_date("garbage"), None);
    }

    #[test]
    fn cidrs() {
        let c = Cidr::parse("10.0.0.0/8").unwrap();
        assert!(c.contains("10.2.3.4".parse().unwrap()));
        assert!(!c.contains("11.0.0.1".parse().unwrap()));
        let c6 = Cidr::parse("2001:db8::/32").unwrap();
        assert!(c6.contains("2001:db8::1".parse().unwrap()));
        assert!(!c6.contains("2001:db9::1".parse().unwrap()));
        assert!(
            Cidr::parse("0.0.0.0/0")
                .unwrap()
                .contains("1.2.3.4".parse().unwrap())
        );
        assert!(Cidr::parse("10.0.0.0/33").is_none());
        assert!(!c.contains("::1".parse().unwrap()));
    }

    #[test]
    fn operator_names() {
        let o = Operator::parse("ForAnyValue:StringLikeIfExists").unwrap();
        assert_eq!(
            (o.base, o.set, o.if_exists),
            (BaseOp::StringLike, SetQualifier::ForAnyValue, true)
        );
        assert!(Operator::parse("NullIfExists").is_none());
        assert!(Operator::parse("StringEqualz").is_none());
    }
}
