//! The condition keys a policy references (what IAM's
//! GetContextKeysForCustomPolicy returns): keys in `Condition` blocks and, under
//! version 2012-10-17, keys named by policy variables.

use crate::policy::{Policy, Version};

fn variables_in<'a>(s: &'a str, out: &mut Vec<&'a str>) {
    let mut rest = s;
    while let Some(i) = rest.find("${") {
        let Some(j) = rest[i..].find('}') else { break };
        let inner = rest[i + 2..i + j].split(',').next().unwrap_or("").trim();
        if inner.contains(':') {
            out.push(inner);
        }
        rest = &rest[i + j + 1..];
    }
}

/// The distinct context keys `policy` references, in first-seen spelling, sorted
/// case-insensitively.
pub fn context_keys(policy: &Policy) -> Vec<String> {
    let mut names: Vec<&str> = Vec::new();
    for s in &policy.statements {
        for c in &s.conditions {
            names.push(&c.key);
        }
        if policy.version == Version::V2012_10_17 {
            for r in s.resources.iter().flatten() {
                variables_in(r, &mut names);
            }
            for c in &s.conditions {
                for v in &c.values {
                    variables_in(v, &mut names);
                }
            }
        }
    }
    let mut out: Vec<String> = Vec::new();
    for n in names {
        if !out.iter().any(|o| o.eq_ignore_ascii_case(n)) {
            out.push(n.to_string());
        }
    }
    out.sort_by_key(|s| s.to_ascii_lowercase());
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{PolicyType, parse};

    #[test]
    fn lists_condition_keys_and_variables_once() {
        let p = parse(
            r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:GetObject",
            "Resource":"arn:aws:s3:::b/${aws:username}/*",
            "Condition":{"IpAddress":{"aws:SourceIp":"10.0.0.0/8"},
                         "StringEquals":{"AWS:SOURCEIP":"x","s3:prefix":"${aws:PrincipalTag/team, 'a'}"}}}]}"#,
            PolicyType::Identity,
        )
        .unwrap();
        let keys = context_keys(&p);
        assert_eq!(keys.len(), 4, "{keys:?}");
        assert!(keys.iter().any(|k| k == "aws:username"));
        assert!(keys.iter().any(|k| k == "aws:PrincipalTag/team"));
        assert!(keys.iter().any(|k| k.eq_ignore_ascii_case("aws:SourceIp")));
        assert!(keys.iter().any(|k| k == "s3:prefix"));
    }

    #[test]
    fn compiled_forms_are_shareable() {
        fn send_sync<T: Send + Sync>() {}
        send_sync::<crate::CompiledPolicy>();
        send_sync::<crate::PolicySet>();
        send_sync::<crate::Decision>();
    }
}
