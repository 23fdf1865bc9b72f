//! `application/x-www-form-urlencoded` and raw query strings: splitting into pairs and
//! decoding, without allocating when nothing is escaped. Invalid UTF-8 after decoding
//! is an error, never replaced.

use std::borrow::Cow;

use percent_encoding::percent_decode;

/// Raw `key=value` pairs of a form or query string, still encoded.
pub fn raw_pairs(s: &[u8]) -> impl Iterator<Item = (&[u8], &[u8])> {
    s.split(|&b| b == b'&').filter(|p| !p.is_empty()).map(|p| {
        match p.iter().position(|&b| b == b'=') {
            Some(i) => (&p[..i], &p[i + 1..]),
            None => (p, &p[p.len()..]),
        }
    })
}

/// Decode one form component: `+` is a space (when `plus_is_space`), `%XX` a byte.
/// `None` when the result is not UTF-8.
pub fn decode(raw: &[u8], plus_is_space: bool) -> Option<Cow<'_, str>> {
    let needs_plus = plus_is_space && raw.contains(&b'+');
    if !needs_plus && !raw.contains(&b'%') {
        return std::str::from_utf8(raw).ok().map(Cow::Borrowed);
    }
    let replaced: Cow<[u8]> = if needs_plus {
        Cow::Owned(
            raw.iter()
                .map(|&b| if b == b'+' { b' ' } else { b })
                .collect(),
        )
    } else {
        Cow::Borrowed(raw)
    };
    let bytes: Vec<u8> = percent_decode(&replaced).collect();
    String::from_utf8(bytes).ok().map(Cow::Owned)
}

/// The decoded value of the first `key` parameter, if any. `Err` on invalid UTF-8.
pub fn find<'a>(s: &'a [u8], key: &str, plus_is_space: bool) -> Result<Option<Cow<'a, str>>, ()> {
    for (k, v) in raw_pairs(s) {
        if decode(k, plus_is_space).ok_or(())? == key {
            return decode(v, plus_is_space).ok_or(()).map(Some);
        }
    }
    Ok(None)
}

/// Decoded `(key, value)` pairs.
pub type Pairs<'a> = Vec<(Cow<'a, str>, Cow<'a, str>)>;

/// All pairs, decoded. `Err` on invalid UTF-8.
pub fn pairs(s: &[u8], plus_is_space: bool) -> Result<Pairs<'_>, ()> {
    raw_pairs(s)
        .map(|(k, v)| {
            Ok((
                decode(k, plus_is_space).ok_or(())?,
                decode(v, plus_is_space).ok_or(())?,
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes() {
        let p = pairs(
            b"Action=GetCallerIdentity&Version=2011-06-15&A.b=x+y%2Bz&flag",
            true,
        )
        .unwrap();
        assert_eq!(p[0], ("Action".into(), "GetCallerIdentity".into()));
        assert_eq!(p[2], ("A.b".into(), "x y+z".into()));
        assert_eq!(p[3], ("flag".into(), "".into()));
        assert!(matches!(p[0].0, Cow::Borrowed(_)));
        assert!(pairs(b"a=%ff", true).is_err());
        assert_eq!(
            find(b"x=1&Action=Foo", "Action", true).unwrap().as_deref(),
            Some("Foo")
        );
        assert_eq!(decode(b"a+b", false).as_deref(), Some("a+b"));
    }
}
