//! Property tests: adding a Deny never turns a deny into an Allow; statement and
//! policy order never change a decision; policies that say they read no condition keys
//! decide the same without them; the wildcard matcher agrees with a plain recursive
//! reference implementation.

use proptest::prelude::*;
use rampart_policy::*;
use serde_json::{Value, json};
use std::sync::Arc;

const ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "s3:Get*",
    "s3:*",
    "ec2:RunInstances",
    "*",
    "iam:PassRole",
];
const RESOURCES: &[&str] = &[
    "*",
    "arn:aws:s3:::b/*",
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::other/*",
    "arn:aws:s3:::b/${aws:username}",
];
const REQ_ACTIONS: &[&str] = &[
    "s3:GetObject",
    "s3:PutObject",
    "ec2:RunInstances",
    "iam:PassRole",
];
const REQ_RESOURCES: &[&str] = &[
    "arn:aws:s3:::b/k",
    "arn:aws:s3:::b/alice",
    "arn:aws:s3:::other/x",
];

fn condition() -> impl Strategy<Value = Option<Value>> {
    prop_oneof![
        Just(None),
        Just(Some(json!({"StringEquals": {"s3:prefix": "a"}}))),
        Just(Some(json!({"StringNotEquals": {"s3:prefix": ["a", "b"]}}))),
        Just(Some(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))),
        Just(Some(
            json!({"ForAllValues:StringEquals": {"aws:TagKeys": ["x"]}})
        )),
        Just(Some(json!({"Null": {"s3:prefix": "true"}}))),
    ]
}

fn statement(effect: Option<&'static str>) -> impl Strategy<Value = Value> {
    let effect = match effect {
        Some(e) => Just(e).boxed(),
        None => prop_oneof![Just("Allow"), Just("Deny")].boxed(),
    };
    (
        effect,
        prop::sample::subsequence(ACTIONS, 1..3),
        any::<bool>(),
        prop::sample::subsequence(RESOURCES, 1..3),
        any::<bool>(),
        condition(),
    )
        .prop_map(|(e, a, not_action, r, not_resource, c)| {
            let mut s = json!({"Effect": e});
            s[if not_action { "NotAction" } else { "Action" }] = json!(a);
            s[if not_resource {
                "NotResource"
            } else {
                "Resource"
            }] = json!(r);
            if let Some(c) = c {
                s["Condition"] = c;
            }
            s
        })
}

fn policies() -> impl Strategy<Value = Vec<Vec<Value>>> {
    prop::collection::vec(prop::collection::vec(statement(None), 1..4), 1..4)
}

fn compile(stmts: &[Vec<Value>], ty: PolicyType) -> PolicySet {
    PolicySet::new(
        stmts
            .iter()
            .enumerate()
            .map(|(i, s)| {
                let mut s = s.clone();
                if ty == PolicyType::Resource {
                    for st in &mut s {
                        st["Principal"] = json!({"AWS": "arn:aws:iam::111122223333:user/alice"});
                    }
                }
                let doc = json!({"Version": "2012-10-17", "Statement": s}).to_string();
                Arc::new(
                    CompiledPolicy::parse(&doc, ty, format!("p{i}"))
                        .expect("generated policy parses"),
                )
            })
            .collect(),
    )
}

#[derive(Debug, Clone)]
struct Req {
    action: &'static str,
    resource: &'static str,
    prefix: Option<&'static str>,
    ip: &'static str,
}

fn request() -> impl Strategy<Value = Req> {
    (
        prop::sample::select(REQ_ACTIONS),
        prop::sample::select(REQ_RESOURCES),
        prop::option::of(prop::sample::select(&["a", "b", "c"][..])),
        prop::sample::select(&["10.1.1.1", "192.168.0.1"][..]),
    )
        .prop_map(|(action, resource, prefix, ip)| Req {
            action,
            resource,
            prefix,
            ip,
        })
}

fn decide(identity: &PolicySet, resource: Option<&PolicySet>, r: &Req) -> Decision {
    let mut ctx = Context::new().with("aws:SourceIp", r.ip);
    if let Some(p) = r.prefix {
        ctx.insert("s3:prefix", p);
    }
    decide_in(identity, resource, r, &ctx)
}

/// [`decide`] with the request's condition keys in `ctx` (not taken from `r`).
fn decide_in(
    identity: &PolicySet,
    resource: Option<&PolicySet>,
    r: &Req,
    ctx: &Context,
) -> Decision {
    let alice = Principal::new(
        PrincipalKind::User,
        "arn:aws:iam::111122223333:user/alice",
        "111122223333",
    );
    let res = Resource::new(r.resource, "111122223333");
    let req = Request {
        principal: &alice,
        action: r.action,
        resource: &res,
        context: ctx,
    };
    evaluate(
        &Policies {
            identity: Some(identity),
            resource,
            ..Default::default()
        },
        &req,
    )
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(400))]

    #[test]
    fn adding_a_deny_never_allows(ps in policies(), rp in prop::option::of(policies()), extra in statement(Some("Deny")), at in 0usize..3, r in request()) {
        let res = rp.as_ref().map(|p| compile(p, PolicyType::Resource));
        let before = decide(&compile(&ps, PolicyType::Identity), res.as_ref(), &r);
        let mut more = ps.clone();
        let i = at % more.len();
        more[i].push(extra);
        let after = decide(&compile(&more, PolicyType::Identity), res.as_ref(), &r);
        if before.kind != DecisionKind::Allow {
            prop_assert_ne!(after.kind, DecisionKind::Allow);
        }
        if before.kind == DecisionKind::ExplicitDeny {
            prop_assert_eq!(after.kind, DecisionKind::ExplicitDeny);
        }
    }

    #[test]
    fn order_never_changes_the_decision(ps in policies(), rp in prop::option::of(policies()), r in request(), seed in any::<u64>()) {
        let res = rp.as_ref().map(|p| compile(p, PolicyType::Resource));
        let a = decide(&compile(&ps, PolicyType::Identity), res.as_ref(), &r);
        let mut shuffled = ps.clone();
        let mut s = seed | 1;
        let mut next = || { s ^= s << 13; s ^= s >> 7; s ^= s << 17; s as usize };
        for p in &mut shuffled {
            for i in (1..p.len()).rev() { let j = next() % (i + 1); p.swap(i, j); }
        }
        for i in (1..shuffled.len()).rev() { let j = next() % (i + 1); shuffled.swap(i, j); }
        let b = decide(&compile(&shuffled, PolicyType::Identity), res.as_ref(), &r);
        prop_assert_eq!(a.kind, b.kind);
        prop_assert_eq!(a.decided_by, b.decided_by);
    }

    #[test]
    fn policies_that_read_no_context_decide_the_same_without_one(ps in policies(), rp in prop::option::of(policies()), r in request()) {
        let identity = compile(&ps, PolicyType::Identity);
        let res = rp.as_ref().map(|p| compile(p, PolicyType::Resource));
        let policies = Policies { identity: Some(&identity), resource: res.as_ref(), ..Default::default() };
        let with = decide(&identity, res.as_ref(), &r);
        let without = decide_in(&identity, res.as_ref(), &r, &Context::new());
        if !policies.read_context() {
            prop_assert_eq!(with.kind, without.kind);
            prop_assert_eq!(with.decided_by, without.decided_by);
        }
    }

    #[test]
    fn wildcard_matches_reference(p in "[ab*?/:]{0,8}", t in "[ab/:]{0,10}") {
        let pc: Vec<char> = p.chars().collect();
        let tc: Vec<char> = t.chars().collect();
        prop_assert_eq!(wildcard_match(&p, &t), reference(&pc, &tc));
    }
}

/// Plain recursive matcher: `*` any run, `?` one character, else literal.
fn reference(p: &[char], t: &[char]) -> bool {
    match p.first() {
        None => t.is_empty(),
        Some('*') => reference(&p[1..], t) || (!t.is_empty() && reference(p, &t[1..])),
        Some('?') => !t.is_empty() && reference(&p[1..], &t[1..]),
        Some(c) => t.first() == Some(c) && reference(&p[1..], &t[1..]),
    }
}

#[test]
fn a_policy_reads_the_context_through_conditions_and_resource_variables() {
    let set = |statement: Value| {
        let doc = json!({"Version": "2012-10-17", "Statement": [statement]}).to_string();
        PolicySet::single(Arc::new(
            CompiledPolicy::parse(&doc, PolicyType::Identity, "p").expect("parses"),
        ))
    };
    let plain = json!({"Effect": "Allow", "Action": "s3:*", "Resource": "arn:aws:s3:::b/*"});
    assert!(!set(plain.clone()).reads_context());
    let mut conditioned = plain.clone();
    conditioned["Condition"] = json!({"StringEquals": {"s3:prefix": "a"}});
    assert!(set(conditioned).reads_context());
    let mut variable = plain;
    variable["Resource"] = json!("arn:aws:s3:::b/${aws:username}");
    assert!(set(variable).reads_context());
}
