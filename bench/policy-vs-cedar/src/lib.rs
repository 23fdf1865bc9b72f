//! Equivalent policy sets for rampart and Cedar, used by `benches/policy_vs_cedar.rs`.
//!
//! Two shapes, at any size:
//! - **selective**: policy `i` allows (every tenth denies) one action `svcN:ActI` on
//!   one resource prefix, when the principal's `team` tag matches: few policies
//!   apply to any request.
//! - **dense**: every policy names the same action and resource, so every policy
//!   applies and its condition runs; the one that matches is the last of its kind.
//!
//! Each shape has an allow request and an explicit-deny request. [`Case::check`]
//! asserts that both engines reach the same decision before anything is timed.

use rampart_policy::{
    CompiledPolicy, Context, DecisionKind, Policies, PolicySet, PolicyType, Principal,
    PrincipalKind, Request, Resource, evaluate,
};
use std::str::FromStr;
use std::sync::Arc;

/// One generated policy in both languages.
pub struct Generated {
    pub iam_json: Vec<String>,
    pub cedar: String,
}

/// The two request shapes of a case.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Want {
    Allow,
    Deny,
}

/// A request in both engines' terms.
pub struct Req {
    pub want: Want,
    pub action: String,
    pub resource: String,
    pub team: String,
    pub level: String,
}

fn is_deny(i: usize) -> bool {
    i % 10 == 9
}

/// The selective set: `n` policies over many actions and resources.
pub fn selective(n: usize) -> Generated {
    let mut iam = Vec::with_capacity(n);
    let mut cedar = String::new();
    for i in 0..n {
        let (effect, c_effect) = if is_deny(i) {
            ("Deny", "forbid")
        } else {
            ("Allow", "permit")
        };
        let action = format!("svc{}:Act{i}", i % 50);
        let res = format!("arn:aws:svc{}:::res{i}/", i % 50);
        iam.push(format!(
            r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"S{i}","Effect":"{effect}","Action":"{action}","Resource":"{res}*","Condition":{{"StringEquals":{{"aws:PrincipalTag/team":"t{}"}}}}}}]}}"#,
            i % 5
        ));
        cedar.push_str(&format!(
            "{c_effect}(principal, action == Action::\"{action}\", resource) when {{ context.resource like \"{res}*\" && context.team == \"t{}\" }};\n",
            i % 5
        ));
    }
    Generated {
        iam_json: iam,
        cedar,
    }
}

/// Requests against the selective set: policy `n/2`-ish allow, and a deny policy.
pub fn selective_requests(n: usize) -> [Req; 2] {
    let a = (n / 2) & !1; // even, so not a deny (9 mod 10)
    let a = if is_deny(a) { a - 1 } else { a };
    let d = (0..n).rev().find(|&i| is_deny(i)).unwrap_or(9);
    let mk = |i: usize, want| Req {
        want,
        action: format!("svc{}:Act{i}", i % 50),
        resource: format!("arn:aws:svc{}:::res{i}/obj", i % 50),
        team: format!("t{}", i % 5),
        level: "none".into(),
    };
    [mk(a, Want::Allow), mk(d, Want::Deny)]
}

/// The dense set: `n` policies that all apply to `s3:GetObject` on the bucket.
pub fn dense(n: usize) -> Generated {
    let mut iam = Vec::with_capacity(n);
    let mut cedar = String::new();
    for i in 0..n {
        if is_deny(i) {
            iam.push(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"D{i}","Effect":"Deny","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*","Condition":{{"StringEquals":{{"aws:PrincipalTag/level":"l{i}"}}}}}}]}}"#
            ));
            cedar.push_str(&format!(
                "forbid(principal, action == Action::\"s3:GetObject\", resource) when {{ context.resource like \"arn:aws:s3:::bucket/*\" && context.level == \"l{i}\" }};\n"
            ));
        } else {
            iam.push(format!(
                r#"{{"Version":"2012-10-17","Statement":[{{"Sid":"A{i}","Effect":"Allow","Action":"s3:GetObject","Resource":"arn:aws:s3:::bucket/*","Condition":{{"StringEquals":{{"aws:PrincipalTag/team":"t{i}"}}}}}}]}}"#
            ));
            cedar.push_str(&format!(
                "permit(principal, action == Action::\"s3:GetObject\", resource) when {{ context.resource like \"arn:aws:s3:::bucket/*\" && context.team == \"t{i}\" }};\n"
            ));
        }
    }
    Generated {
        iam_json: iam,
        cedar,
    }
}

/// Requests against the dense set: the last allow policy, and the last deny policy.
pub fn dense_requests(n: usize) -> [Req; 2] {
    let a = (0..n).rev().find(|&i| !is_deny(i)).unwrap_or(0);
    let d = (0..n).rev().find(|&i| is_deny(i)).unwrap_or(9);
    let mk = |want, team: String, level: String| Req {
        want,
        action: "s3:GetObject".into(),
        resource: "arn:aws:s3:::bucket/key".into(),
        team,
        level,
    };
    [
        mk(Want::Allow, format!("t{a}"), "none".into()),
        mk(Want::Deny, "none".into(), format!("l{d}")),
    ]
}

/// A compiled case for both engines.
pub struct Case {
    pub identity: PolicySet,
    pub principal: Principal,
    pub resource: Resource,
    pub context: Context,
    pub action: String,
    pub cedar_set: cedar_policy::PolicySet,
    pub cedar_request: cedar_policy::Request,
    pub cedar_entities: cedar_policy::Entities,
    pub authorizer: cedar_policy::Authorizer,
    pub want: Want,
}

/// Parses and compiles `jsons` as identity policies.
pub fn compile_rampart(jsons: &[String]) -> PolicySet {
    PolicySet::new(
        jsons
            .iter()
            .enumerate()
            .map(|(i, j)| {
                Arc::new(
                    CompiledPolicy::parse(j, PolicyType::Identity, format!("p{i}"))
                        .expect("generated policy parses"),
                )
            })
            .collect(),
    )
}

impl Case {
    pub fn new(g: &Generated, r: &Req) -> Case {
        let mut principal = Principal::new(
            PrincipalKind::User,
            "arn:aws:iam::111122223333:user/alice",
            "111122223333",
        );
        principal.tags.insert("team", r.team.clone());
        principal.tags.insert("level", r.level.clone());
        let cedar_set = cedar_policy::PolicySet::from_str(&g.cedar).expect("cedar policies parse");
        let ctx = serde_json::json!({"resource": r.resource, "team": r.team, "level": r.level});
        let cedar_request = cedar_policy::Request::new(
            cedar_policy::EntityUid::from_str(r#"User::"alice""#).expect("uid"),
            cedar_policy::EntityUid::from_str(&format!("Action::\"{}\"", r.action)).expect("uid"),
            cedar_policy::EntityUid::from_str(r#"Resource::"r""#).expect("uid"),
            cedar_policy::Context::from_json_value(ctx, None).expect("context"),
            None,
        )
        .expect("cedar request");
        Case {
            identity: compile_rampart(&g.iam_json),
            principal,
            resource: Resource::new(r.resource.clone(), "111122223333"),
            context: Context::new(),
            action: r.action.clone(),
            cedar_set,
            cedar_request,
            cedar_entities: cedar_policy::Entities::empty(),
            authorizer: cedar_policy::Authorizer::new(),
            want: r.want,
        }
    }

    /// One rampart decision.
    #[inline]
    pub fn rampart(&self) -> DecisionKind {
        let req = Request {
            principal: &self.principal,
            action: &self.action,
            resource: &self.resource,
            context: &self.context,
        };
        evaluate(
            &Policies {
                identity: Some(&self.identity),
                ..Default::default()
            },
            &req,
        )
        .kind
    }

    /// One Cedar decision.
    #[inline]
    pub fn cedar(&self) -> cedar_policy::Decision {
        self.authorizer
            .is_authorized(&self.cedar_request, &self.cedar_set, &self.cedar_entities)
            .decision()
    }

    /// Both engines decide as the case wants.
    pub fn check(&self) {
        let (r, c) = (self.rampart(), self.cedar());
        match self.want {
            Want::Allow => {
                assert_eq!(r, DecisionKind::Allow);
                assert_eq!(c, cedar_policy::Decision::Allow);
            }
            Want::Deny => {
                assert_eq!(r, DecisionKind::ExplicitDeny);
                assert_eq!(c, cedar_policy::Decision::Deny);
            }
        }
    }
}
