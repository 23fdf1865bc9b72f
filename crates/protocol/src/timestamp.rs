//! Timestamps between the wire formats AWS uses (ISO 8601, RFC 822 / HTTP date, epoch
//! seconds, SigV4's `YYYYMMDDTHHMMSSZ`) and the canonical form (epoch seconds as a JSON
//! number: an integer when whole, else a float with millisecond precision). UTC only,
//! proleptic Gregorian calendar, no leap seconds: exactly what AWS emits.

use serde_json::{Number, Value};

const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// Days since 1970-01-01 for a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    (
        if m <= 2 {
            yoe + era * 400 + 1
        } else {
            yoe + era * 400
        },
        m,
        d,
    )
}

struct Parts {
    y: i64,
    mo: i64,
    d: i64,
    h: i64,
    mi: i64,
    s: i64,
    millis: i64,
    wday: usize,
}

fn split(secs: f64) -> Parts {
    let whole = secs.floor();
    let millis = ((secs - whole) * 1000.0).round() as i64;
    let (whole, millis) = if millis >= 1000 {
        (whole as i64 + 1, 0)
    } else {
        (whole as i64, millis)
    };
    let days = whole.div_euclid(86_400);
    let rem = whole.rem_euclid(86_400);
    let (y, mo, d) = civil_from_days(days);
    Parts {
        y,
        mo,
        d,
        h: rem / 3600,
        mi: rem % 3600 / 60,
        s: rem % 60,
        millis,
        wday: days.rem_euclid(7) as usize,
    }
}

/// `2026-11-23T16:50:00Z`, or `2026-11-23T16:50:00.123Z` when there are milliseconds.
pub fn format_iso8601(secs: f64) -> String {
    let p = split(secs);
    if p.millis == 0 {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            p.y, p.mo, p.d, p.h, p.mi, p.s
        )
    } else {
        format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z",
            p.y, p.mo, p.d, p.h, p.mi, p.s, p.millis
        )
    }
}

/// `Sun, 23 Nov 2026 16:50:00 GMT`.
pub fn format_rfc822(secs: f64) -> String {
    let p = split(secs);
    format!(
        "{}, {:02} {} {:04} {:02}:{:02}:{:02} GMT",
        DAYS[p.wday],
        p.d,
        MONTHS[(p.mo - 1) as usize],
        p.y,
        p.h,
        p.mi,
        p.s
    )
}

/// The `YYYYMMDD` of `secs` (UTC), as a SigV4 credential scope names the day.
pub fn amz_day(secs: i64) -> [u8; 8] {
    let (y, mo, d) = civil_from_days(secs.div_euclid(86_400));
    let mut n = y.clamp(0, 9999) * 10_000 + mo * 100 + d;
    let mut out = [0; 8];
    for digit in out.iter_mut().rev() {
        *digit = b'0' + (n % 10) as u8;
        n /= 10;
    }
    out
}

/// SigV4's `20261123T165000Z`.
pub fn format_amz_date(secs: i64) -> String {
    let p = split(secs as f64);
    format!(
        "{:04}{:02}{:02}T{:02}{:02}{:02}Z",
        p.y, p.mo, p.d, p.h, p.mi, p.s
    )
}

fn num(s: &str) -> Option<i64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

fn valid(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> bool {
    (1..=12).contains(&mo) && (1..=31).contains(&d) && h < 24 && mi < 60 && s < 61 && y > 0
}

fn epoch(y: i64, mo: i64, d: i64, h: i64, mi: i64, s: i64) -> i64 {
    days_from_civil(y, mo, d) * 86_400 + h * 3600 + mi * 60 + s
}

/// Parse SigV4's `YYYYMMDDTHHMMSSZ` into epoch seconds.
pub fn parse_amz_date(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    if b.len() != 16 || b[8] != b'T' || b[15] != b'Z' {
        return None;
    }
    let (y, mo, d) = (num(&s[0..4])?, num(&s[4..6])?, num(&s[6..8])?);
    let (h, mi, sec) = (num(&s[9..11])?, num(&s[11..13])?, num(&s[13..15])?);
    valid(y, mo, d, h, mi, sec).then(|| epoch(y, mo, d, h, mi, sec))
}

/// Parse ISO 8601 (`2026-11-23T16:50:00Z`, fractional seconds, `+hh:mm` offsets).
pub fn parse_iso8601(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    if b.len() < 19 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
        return None;
    }
    if b[13] != b':' || b[16] != b':' {
        return None;
    }
    let (y, mo, d) = (num(&s[0..4])?, num(&s[5..7])?, num(&s[8..10])?);
    let (h, mi, sec) = (num(&s[11..13])?, num(&s[14..16])?, num(&s[17..19])?);
    if !valid(y, mo, d, h, mi, sec) {
        return None;
    }
    let mut rest = &s[19..];
    let mut frac = 0.0;
    if let Some(r) = rest.strip_prefix('.') {
        let end = r.find(|c: char| !c.is_ascii_digit()).unwrap_or(r.len());
        if end == 0 {
            return None;
        }
        frac = format!("0.{}", &r[..end]).parse().ok()?;
        rest = &r[end..];
    }
    let offset = match rest {
        "" | "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return None,
            };
            let r = rest[1..].replace(':', "");
            if r.len() != 4 {
                return None;
            }
            sign * (num(&r[0..2])? * 3600 + num(&r[2..4])? * 60)
        }
    };
    Some((epoch(y, mo, d, h, mi, sec) - offset) as f64 + frac)
}

/// Parse an RFC 822 / HTTP date (`Sun, 23 Nov 2026 16:50:00 GMT`).
pub fn parse_rfc822(s: &str) -> Option<f64> {
    let s = s.split_once(", ").map_or(s, |(_, r)| r);
    let mut it = s.split_ascii_whitespace();
    let d = num(it.next()?)?;
    let mon = it.next()?;
    let mo = MONTHS.iter().position(|m| m.eq_ignore_ascii_case(mon))? as i64 + 1;
    let y = num(it.next()?)?;
    let mut hms = it.next()?.split(':');
    let (h, mi, sec) = (num(hms.next()?)?, num(hms.next()?)?, num(hms.next()?)?);
    match it.next() {
        None | Some("GMT") | Some("UTC") | Some("Z") | Some("+0000") => {}
        _ => return None,
    }
    valid(y, mo, d, h, mi, sec).then(|| epoch(y, mo, d, h, mi, sec) as f64)
}

/// Parse any timestamp a client may send: epoch seconds, ISO 8601 or RFC 822.
pub fn parse_any(s: &str) -> Option<f64> {
    let t = s.trim();
    if let Ok(n) = t.parse::<f64>() {
        return n.is_finite().then_some(n);
    }
    parse_iso8601(t).or_else(|| parse_rfc822(t))
}

/// The canonical JSON value for epoch seconds.
pub fn to_value(secs: f64) -> Value {
    if secs.fract() == 0.0 && secs.abs() < 9.0e15 {
        Value::Number(Number::from(secs as i64))
    } else {
        Number::from_f64((secs * 1000.0).round() / 1000.0).map_or(Value::Null, Value::Number)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        for (secs, iso, rfc) in [
            (0.0, "1970-01-01T00:00:00Z", "Thu, 01 Jan 1970 00:00:00 GMT"),
            (
                1440938160.0,
                "2015-08-30T12:36:00Z",
                "Sun, 30 Aug 2015 12:36:00 GMT",
            ),
            (
                951782400.5,
                "2000-02-29T00:00:00.500Z",
                "Tue, 29 Feb 2000 00:00:00 GMT",
            ),
        ] {
            assert_eq!(format_iso8601(secs), iso);
            assert_eq!(format_rfc822(secs), rfc);
            assert_eq!(parse_iso8601(iso), Some(secs));
            assert_eq!(parse_rfc822(rfc), Some(secs.floor()));
            assert_eq!(parse_any(iso), Some(secs));
        }
        assert_eq!(parse_amz_date("20150830T123600Z"), Some(1440938160));
        assert_eq!(format_amz_date(1440938160), "20150830T123600Z");
        assert_eq!(&amz_day(1440938160), b"20150830");
        assert_eq!(&amz_day(0), b"19700101");
        assert_eq!(
            parse_iso8601("2015-08-30T14:36:00+02:00"),
            Some(1440938160.0)
        );
        assert_eq!(parse_amz_date("2015083XT123600Z"), None);
        assert_eq!(parse_iso8601("2015-13-30T12:36:00Z"), None);
        assert_eq!(to_value(5.0), serde_json::json!(5));
        assert_eq!(to_value(5.25), serde_json::json!(5.25));
    }
}
