//! Wildcard matching (`*`, `?`) and policy-variable templates.
//!
//! A [`Pattern`] is compiled once from a policy string. Strings without wildcards or
//! variables compare with `==`; `prefix*` with `starts_with`; the rest run a
//! backtracking glob over tokens. Variables (`${aws:username}`) are resolved per
//! request through a [`Resolver`]; the substituted text is always literal, so a `*`
//! inside a tag value never acts as a wildcard.

use crate::context::KeyRef;

/// One element of a compiled pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Tok {
    Lit(Box<str>),
    /// `*`: any run of characters, including `/` and `:`.
    Star,
    /// `?`: exactly one character.
    One,
    /// `${key}` or `${key, 'default'}`.
    Var(KeyRef, Option<Box<str>>),
}

/// A borrowed token, what the glob engine runs on.
#[derive(Debug, Clone, Copy)]
enum MTok<'a> {
    Lit(&'a str),
    Star,
    One,
}

/// Resolves a policy variable to its single value in the current request.
pub(crate) trait Resolver {
    fn resolve(&self, key: &KeyRef) -> Option<&str>;
}

/// A compiled string pattern.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Pattern {
    /// `*` alone.
    Any,
    /// No wildcard, no variable.
    Exact(Box<str>),
    /// `literal*`.
    Prefix(Box<str>),
    /// Wildcards, no variable.
    Glob(Box<[Tok]>),
    /// Contains at least one variable.
    Template(Box<[Tok]>),
}

fn char_len(s: &str, pos: usize) -> usize {
    s[pos..].chars().next().map_or(1, char::len_utf8)
}

/// The matching engine: greedy with backtracking to the last `*`. Linear in
/// practice, O(n*m) worst case, never recursive.
fn glob_toks(toks: &[MTok<'_>], text: &str) -> bool {
    let (mut ti, mut pos) = (0usize, 0usize);
    let mut star: Option<(usize, usize)> = None;
    loop {
        if ti < toks.len() {
            match toks[ti] {
                MTok::Star => {
                    star = Some((ti + 1, pos));
                    ti += 1;
                    continue;
                }
                MTok::One if pos < text.len() => {
                    pos += char_len(text, pos);
                    ti += 1;
                    continue;
                }
                MTok::Lit(l) if text[pos..].starts_with(l) => {
                    pos += l.len();
                    ti += 1;
                    continue;
                }
                _ => {}
            }
        } else if pos == text.len() {
            return true;
        }
        match star {
            Some((sti, spos)) if spos < text.len() => {
                let np = spos + char_len(text, spos);
                star = Some((sti, np));
                ti = sti;
                pos = np;
            }
            _ => return false,
        }
    }
}

/// Runs `f` on `toks` mapped by `map` (`None`: an unresolved variable, which
/// makes the whole match false), on the stack for patterns of up to 16 tokens.
fn with_mtoks<'p>(
    toks: &'p [Tok],
    map: impl Fn(&'p Tok) -> Option<MTok<'p>>,
    f: impl FnOnce(&[MTok<'p>]) -> bool,
) -> bool {
    let mut buf = [MTok::Star; 16];
    if toks.len() <= buf.len() {
        for (b, t) in buf.iter_mut().zip(toks) {
            match map(t) {
                Some(m) => *b = m,
                None => return false,
            }
        }
        f(&buf[..toks.len()])
    } else {
        match toks.iter().map(map).collect::<Option<Vec<_>>>() {
            Some(m) => f(&m),
            None => false,
        }
    }
}

/// Matches `text` against a plain wildcard string (`*` and `?`, nothing else),
/// case-sensitively.
pub fn wildcard_match(pattern: &str, text: &str) -> bool {
    let mut toks = Vec::new();
    lex_wild(pattern, &mut toks);
    let m: Vec<MTok<'_>> = toks.iter().map(to_mtok).collect();
    glob_toks(&m, text)
}

fn to_mtok(t: &Tok) -> MTok<'_> {
    match t {
        Tok::Lit(s) => MTok::Lit(s),
        Tok::Star => MTok::Star,
        Tok::One => MTok::One,
        Tok::Var(..) => MTok::Lit(""),
    }
}

fn push_lit(toks: &mut Vec<Tok>, s: &str) {
    if s.is_empty() {
        return;
    }
    if let Some(Tok::Lit(prev)) = toks.last_mut() {
        let mut joined = String::with_capacity(prev.len() + s.len());
        joined.push_str(prev);
        joined.push_str(s);
        *prev = joined.into_boxed_str();
    } else {
        toks.push(Tok::Lit(s.into()));
    }
}

fn lex_wild(s: &str, toks: &mut Vec<Tok>) {
    let mut start = 0;
    for (i, c) in s.char_indices() {
        if c == '*' || c == '?' {
            push_lit(toks, &s[start..i]);
            if c == '?' {
                toks.push(Tok::One);
            } else if toks.last() != Some(&Tok::Star) {
                toks.push(Tok::Star);
            }
            start = i + 1;
        }
    }
    push_lit(toks, &s[start..]);
}

/// Parses the inside of `${...}`: a key, optionally `, 'default'`.
fn parse_var(inner: &str) -> Option<(KeyRef, Option<Box<str>>)> {
    let (key, default) = match inner.split_once(',') {
        Some((k, d)) => {
            let d = d.trim();
            let d = d.strip_prefix('\'')?.strip_suffix('\'')?;
            (k.trim(), Some(d.into()))
        }
        None => (inner.trim(), None),
    };
    if key.is_empty() || key.contains(['$', '{', '}']) {
        return None;
    }
    Some((KeyRef::parse(key), default))
}

impl Pattern {
    /// Compiles `s`. `wildcards`: `*`/`?` are wildcards (else literal).
    /// `variables`: `${...}` is substituted (policy version 2012-10-17).
    /// `lowercase`: fold the literal text (actions are case-insensitive).
    pub(crate) fn compile(s: &str, wildcards: bool, variables: bool, lowercase: bool) -> Pattern {
        let owned;
        let s = if lowercase {
            owned = s.to_ascii_lowercase();
            owned.as_str()
        } else {
            s
        };
        if wildcards && s == "*" {
            return Pattern::Any;
        }
        let mut toks = Vec::new();
        let mut rest = s;
        let lex = |t: &str, toks: &mut Vec<Tok>| {
            if wildcards {
                lex_wild(t, toks)
            } else {
                push_lit(toks, t)
            }
        };
        while let Some(open) = rest.find("${").filter(|_| variables) {
            let Some(close) = rest[open..].find('}') else {
                break;
            };
            lex(&rest[..open], &mut toks);
            let inner = &rest[open + 2..open + close];
            match inner {
                "*" | "?" | "$" => push_lit(&mut toks, inner),
                _ => match parse_var(inner) {
                    Some((k, d)) => toks.push(Tok::Var(k, d)),
                    None => push_lit(&mut toks, &rest[open..=open + close]),
                },
            }
            rest = &rest[open + close + 1..];
        }
        lex(rest, &mut toks);
        if toks.iter().any(|t| matches!(t, Tok::Var(..))) {
            return Pattern::Template(toks.into());
        }
        match toks.as_slice() {
            [] => Pattern::Exact("".into()),
            [Tok::Lit(l)] => Pattern::Exact(l.clone()),
            [Tok::Lit(l), Tok::Star] => Pattern::Prefix(l.clone()),
            _ => Pattern::Glob(toks.into()),
        }
    }

    /// Does `text` match? A template whose variable cannot be resolved (and has no
    /// default) matches nothing.
    pub(crate) fn matches<'p>(&'p self, text: &str, r: &'p dyn Resolver) -> bool {
        match self {
            Pattern::Any => true,
            Pattern::Exact(e) => **e == *text,
            Pattern::Prefix(p) => text.starts_with(&**p),
            Pattern::Glob(toks) => with_mtoks(toks, |t| Some(to_mtok(t)), |m| glob_toks(m, text)),
            Pattern::Template(toks) => {
                let subst = |t: &'p Tok| -> Option<MTok<'p>> {
                    match t {
                        Tok::Var(k, d) => r.resolve(k).or(d.as_deref()).map(MTok::Lit),
                        other => Some(to_mtok(other)),
                    }
                };
                with_mtoks(toks, subst, |m| glob_toks(m, text))
            }
        }
    }

    /// Case-insensitive equality (StringEqualsIgnoreCase); wildcards never apply.
    pub(crate) fn eq_ignore_case(&self, text: &str, r: &dyn Resolver) -> bool {
        let fold = |a: &str, b: &str| {
            a.len() == b.len() && a.eq_ignore_ascii_case(b)
                || a.chars()
                    .flat_map(char::to_lowercase)
                    .eq(b.chars().flat_map(char::to_lowercase))
        };
        match self {
            Pattern::Exact(e) => fold(e, text),
            Pattern::Template(toks) => {
                let mut s = String::new();
                for t in toks.iter() {
                    match t {
                        Tok::Lit(l) => s.push_str(l),
                        Tok::Var(k, d) => match r.resolve(k).or(d.as_deref()) {
                            Some(v) => s.push_str(v),
                            None => return false,
                        },
                        Tok::Star => s.push('*'),
                        Tok::One => s.push('?'),
                    }
                }
                fold(&s, text)
            }
            _ => false,
        }
    }
}

/// A resolver that knows no variable.
pub(crate) struct NoVars;
impl Resolver for NoVars {
    fn resolve(&self, _: &KeyRef) -> Option<&str> {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    macro_rules! glob_cases {
        ($($name:ident: $pat:expr, $text:expr => $want:expr;)*) => {$(
            #[test]
            fn $name() {
                assert_eq!(wildcard_match($pat, $text), $want, "{} vs {}", $pat, $text);
                let p = Pattern::compile($pat, true, false, false);
                assert_eq!(p.matches($text, &NoVars), $want);
            }
        )*};
    }

    // IAM User Guide, "IAM JSON policy elements: Resource" (wildcards in ARNs):
    // `*` matches any run of characters including `/` and `:`; `?` one character.
    glob_cases! {
        star_all: "*", "arn:aws:s3:::b/k" => true;
        star_crosses_slash: "arn:aws:s3:::bucket/*", "arn:aws:s3:::bucket/a/b/c" => true;
        star_crosses_colon: "arn:aws:*", "arn:aws:iam::1:user/x" => true;
        star_empty: "arn:aws:s3:::bucket*", "arn:aws:s3:::bucket" => true;
        qmark_one: "arn:aws:s3:::b?", "arn:aws:s3:::bx" => true;
        qmark_not_zero: "arn:aws:s3:::b?", "arn:aws:s3:::b" => false;
        qmark_unicode: "a?c", "a\u{e9}c" => true;
        case_sensitive: "arn:aws:s3:::Bucket", "arn:aws:s3:::bucket" => false;
        middle_star: "a*b*c", "axxbyyc" => true;
        middle_star_fail: "a*b*c", "axxbyy" => false;
        backtrack: "*ab", "aab" => true;
        exact_no: "abc", "abcd" => false;
    }

    #[test]
    fn variables_are_literal_after_substitution() {
        struct R;
        impl Resolver for R {
            fn resolve(&self, k: &KeyRef) -> Option<&str> {
                match k {
                    KeyRef::Username => Some("a*"),
                    _ => None,
                }
            }
        }
        let p = Pattern::compile("home/${aws:username}/*", true, true, false);
        assert!(p.matches("home/a*/x", &R));
        assert!(!p.matches("home/abc/x", &R));
        let d = Pattern::compile("${aws:PrincipalTag/team, 'none'}", true, true, false);
        assert!(d.matches("none", &R));
        let lit = Pattern::compile("${*}${?}${$}", true, true, false);
        assert!(lit.matches("*?$", &R));
        assert!(!lit.matches("ab$", &R));
        let unresolved = Pattern::compile("${aws:userid}", true, true, false);
        assert!(!unresolved.matches("", &R));
    }
}
