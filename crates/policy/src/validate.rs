//! Access Analyzer-style lints (ValidatePolicy): findings of type ERROR,
//! SECURITY_WARNING, WARNING or SUGGESTION, each with an issue code and the
//! location in the document (`Statement[0].Action[1]`). Service data comes from
//! [`crate::catalog`]. The issue codes are listed in docs/policy.md.

use crate::catalog::{self, catalog};
use crate::condition::{BaseOp, Family, Operator, SetQualifier};
use crate::pattern::{NoVars, Pattern};
use crate::policy::{Effect, PolicyType, Statement, Version, parse};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum FindingType {
    Error,
    SecurityWarning,
    Warning,
    Suggestion,
}

impl FindingType {
    /// `ERROR`, `SECURITY_WARNING`, `WARNING`, `SUGGESTION`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Error => "ERROR",
            Self::SecurityWarning => "SECURITY_WARNING",
            Self::Warning => "WARNING",
            Self::Suggestion => "SUGGESTION",
        }
    }
}

/// Where in the document a finding points, as a path (`Statement[0].Condition`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location(pub String);

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub finding_type: FindingType,
    pub issue_code: &'static str,
    pub details: String,
    pub location: Location,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.finding_type.name(), self.issue_code)?;
        if !self.location.0.is_empty() {
            write!(f, " {}", self.location.0)?;
        }
        write!(f, ": {}", self.details)
    }
}

struct Out(Vec<Finding>);
impl Out {
    fn push(&mut self, t: FindingType, code: &'static str, loc: String, details: String) {
        self.0.push(Finding {
            finding_type: t,
            issue_code: code,
            details,
            location: Location(loc),
        });
    }
}

/// Validates `json` as a policy of type `ty`. A document that does not parse
/// yields one ERROR carrying the MalformedPolicyDocument message.
pub fn validate(json: &str, ty: PolicyType) -> Vec<Finding> {
    let mut out = Out(Vec::new());
    let policy = match parse(json, ty) {
        Ok(p) => p,
        Err(e) => {
            out.push(
                FindingType::Error,
                "MALFORMED_POLICY_DOCUMENT",
                String::new(),
                e.message().to_string(),
            );
            return out.0;
        }
    };
    let has_version = serde_json::from_str::<serde_json::Value>(json)
        .ok()
        .is_some_and(|v| v.get("Version").is_some());
    if !has_version {
        out.push(
            FindingType::Warning,
            "MISSING_VERSION",
            String::new(),
            "Specify a Version of 2012-10-17; without it, policy variables are read as literal text.".into(),
        );
    } else if policy.version == Version::V2008_10_17 {
        out.push(
            FindingType::Suggestion,
            "OLD_VERSION",
            "Version".into(),
            "Version 2008-10-17 reads policy variables as literal text; use 2012-10-17.".into(),
        );
    }
    for (i, s) in policy.statements.iter().enumerate() {
        check_statement(&mut out, i, s);
    }
    out.0.sort_by_key(|f| f.finding_type);
    out.0
}

fn action_kind(s: &Statement) -> &'static str {
    if s.not_action { "NotAction" } else { "Action" }
}

fn check_statement(out: &mut Out, i: usize, s: &Statement) {
    let c = catalog();
    let at = |el: &str, j: usize| format!("Statement[{i}].{el}[{j}]");
    let ak = action_kind(s);
    // Actions: service and action exist; redundancy.
    let patterns: Vec<Pattern> = s
        .actions
        .iter()
        .map(|a| Pattern::compile(a, true, false, true))
        .collect();
    for (j, a) in s.actions.iter().enumerate() {
        if a == "*" {
            continue;
        }
        let Some((svc, name)) = a.split_once(':') else {
            continue;
        };
        let Some(service) = c.service(svc).filter(|_| !svc.contains(['*', '?'])) else {
            out.push(
                FindingType::Error,
                "INVALID_SERVICE",
                at(ak, j),
                format!("The service {svc} specified in the action does not exist."),
            );
            continue;
        };
        let exists = if name.contains(['*', '?']) {
            let p = Pattern::compile(name, true, false, true);
            service
                .actions()
                .any(|x| p.matches(&x.name.to_ascii_lowercase(), &NoVars))
        } else {
            service.action(name).is_some()
        };
        if !exists {
            out.push(
                FindingType::Error,
                "INVALID_ACTION",
                at(ak, j),
                format!("The action {a} does not exist."),
            );
            continue;
        }
        let lower = a.to_ascii_lowercase();
        let redundant = patterns.iter().enumerate().any(|(k, p)| {
            k != j
                && p.matches(&lower, &NoVars)
                && (s.actions[k] != *a || k < j)
                && !(patterns[j].matches(&s.actions[k].to_ascii_lowercase(), &NoVars) && k > j)
        });
        if redundant {
            out.push(
                FindingType::Suggestion,
                "REDUNDANT_ACTION",
                at(ak, j),
                format!("The action {a} is already covered by another action in this statement."),
            );
        }
    }
    // iam:PassRole with "*" resource.
    let star_resource = !s.not_resource
        && s.resources
            .as_ref()
            .is_some_and(|r| r.iter().any(|r| r == "*"));
    if s.effect == Effect::Allow && star_resource && !s.not_action {
        let passrole = s
            .actions
            .iter()
            .zip(&patterns)
            .any(|(a, p)| a != "*" && p.matches("iam:passrole", &NoVars));
        if passrole {
            out.push(
                FindingType::SecurityWarning,
                "PASS_ROLE_WITH_STAR_IN_RESOURCE",
                format!("Statement[{i}].Resource"),
                "Using the iam:PassRole action with wildcards (*) in the resource can be overly permissive because it allows iam:PassRole permissions on multiple resources. We recommend that you specify resource ARNs or add the iam:PassedToService condition key to your statement.".into(),
            );
        }
    }
    if s.effect == Effect::Allow && s.not_principal {
        out.push(
            FindingType::SecurityWarning,
            "ALLOW_WITH_NOT_PRINCIPAL",
            format!("Statement[{i}].NotPrincipal"),
            "Using Allow with NotPrincipal can be overly permissive. We recommend that you use Principal instead.".into(),
        );
    }
    check_resources(out, i, s);
    check_conditions(out, i, s);
}

/// Resource type mismatch: an action of a detailed service whose resource types'
/// ARN formats match none of the statement's resources.
fn check_resources(out: &mut Out, i: usize, s: &Statement) {
    let Some(resources) = &s.resources else {
        return;
    };
    if s.not_action || s.not_resource || resources.iter().any(|r| r == "*" || r.contains("${")) {
        return;
    }
    let c = catalog();
    for (j, a) in s.actions.iter().enumerate() {
        if a.contains(['*', '?']) {
            continue;
        }
        let Some((svc, name)) = a.split_once(':') else {
            continue;
        };
        let Some(service) = c.service(svc).filter(|s| s.detailed) else {
            continue;
        };
        let Some(action) = service.action(name) else {
            continue;
        };
        let formats: Vec<Pattern> = action
            .resource_types
            .iter()
            .filter_map(|r| service.resource_type(&r.name))
            .map(|rt| Pattern::compile(&arn_format_glob(&rt.arn_format), true, false, false))
            .collect();
        let ok = !formats.is_empty()
            && resources
                .iter()
                .any(|r| formats.iter().any(|f| f.matches(r, &NoVars)));
        if !ok {
            out.push(
                FindingType::Warning,
                "UNSUPPORTED_RESOURCE_ARN_IN_POLICY",
                format!("Statement[{i}].{}[{j}]", action_kind(s)),
                if formats.is_empty() {
                    format!("The action {a} does not support resource-level permissions; use \"*\" as the resource.")
                } else {
                    format!("The action {a} does not support any resource type listed in this statement.")
                },
            );
        }
    }
}

/// `arn:${Partition}:s3:::${BucketName}` -> `arn:*:s3:::*`.
fn arn_format_glob(f: &str) -> String {
    let mut out = String::with_capacity(f.len());
    let mut rest = f;
    while let Some(i) = rest.find("${") {
        out.push_str(&rest[..i]);
        out.push('*');
        match rest[i..].find('}') {
            Some(j) => rest = &rest[i + j + 1..],
            None => rest = "",
        }
    }
    out.push_str(rest);
    out
}

fn check_conditions(out: &mut Out, i: usize, s: &Statement) {
    let c = catalog();
    for (j, cond) in s.conditions.iter().enumerate() {
        let loc = format!("Statement[{i}].Condition.{}.{}", cond.operator, cond.key);
        let _ = j;
        let Some(op) = Operator::parse(&cond.operator) else {
            continue;
        };
        let key = &cond.key;
        let ty = c.key_type(key);
        if ty.is_none() && key.to_ascii_lowercase().starts_with("aws:") {
            out.push(
                FindingType::Error,
                "INVALID_GLOBAL_CONDITION_KEY",
                loc.clone(),
                format!("The global condition key {key} does not exist."),
            );
        } else if !s.not_action {
            let mut known_any = false;
            let supported = s
                .actions
                .iter()
                .any(|a| match c.key_supported_by_action(a, key) {
                    Some(v) => {
                        known_any = true;
                        v
                    }
                    None => true,
                });
            if known_any && !supported {
                out.push(
                    FindingType::Warning,
                    "UNKNOWN_CONDITION_KEY_FOR_ACTION",
                    loc.clone(),
                    format!(
                        "The condition key {key} is not supported by any action in this statement."
                    ),
                );
            }
        }
        if let Some(multi) = catalog::is_multivalued_key(key) {
            match (op.set, multi) {
                (SetQualifier::ForAllValues, false) => out.push(
                    FindingType::SecurityWarning,
                    "FORALLVALUES_WITH_SINGLE_VALUED_KEY",
                    loc.clone(),
                    format!("Using ForAllValues qualifier with the single-valued condition key {key} can be overly permissive. We recommend that you remove ForAllValues:."),
                ),
                (SetQualifier::ForAnyValue, false) => out.push(
                    FindingType::Warning,
                    "FORANYVALUE_WITH_SINGLE_VALUED_KEY",
                    loc.clone(),
                    format!("Using ForAnyValue qualifier with the single-valued condition key {key} is unnecessary. We recommend that you remove ForAnyValue:."),
                ),
                (SetQualifier::None, true) if op.base != BaseOp::Null => out.push(
                    FindingType::Warning,
                    "MISSING_QUALIFIER_FOR_MULTIVALUED_KEY",
                    loc.clone(),
                    format!("The multivalued condition key {key} should be used with ForAllValues or ForAnyValue."),
                ),
                _ => {}
            }
        }
        if let Some(t) = ty {
            check_type(out, &loc, op.base, key, t);
        }
        check_values(out, &loc, op.base, &cond.values);
    }
}

fn check_type(out: &mut Out, loc: &str, op: BaseOp, key: &str, ty: &str) {
    let ty = ty.trim_start_matches("ArrayOf");
    let ok = match op.family() {
        Family::Numeric => ty == "Numeric",
        Family::Date => ty == "Date" || ty == "Numeric",
        Family::Bool => ty == "Bool",
        Family::Ip => ty == "IPAddress",
        Family::Arn => ty == "ARN" || ty == "String",
        Family::Binary => ty == "Binary",
        // String operators compare the textual form of any key.
        Family::String | Family::Null => true,
    };
    if !ok {
        out.push(
            FindingType::Warning,
            "MISMATCHED_TYPE",
            loc.to_string(),
            format!(
                "The operator {} is not meant for the {ty} condition key {key}.",
                op.name()
            ),
        );
    }
}

fn check_values(out: &mut Out, loc: &str, op: BaseOp, values: &[String]) {
    for v in values {
        let ok = match op.family() {
            Family::Numeric => v.trim().parse::<f64>().is_ok(),
            Family::Date => crate::condition::parse_date(v).is_some(),
            Family::Bool | Family::Null => {
                v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false")
            }
            Family::Ip => crate::condition::Cidr::parse(v).is_some(),
            _ => true,
        };
        if !ok {
            out.push(
                FindingType::Error,
                "DATA_TYPE_MISMATCH",
                loc.to_string(),
                format!("The value {v} is not valid for the {} operator.", op.name()),
            );
        }
    }
}
