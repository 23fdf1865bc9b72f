//! Entry points for the fuzz targets in `crates/policy/fuzz` (one line each there).
//! Public so the fuzz crate can reach them; not part of the stable API.

use crate::{
    CompiledPolicy, Context, Policies, PolicySet, PolicyType, Principal, PrincipalKind, Request,
    Resource, context_keys, evaluate, parse, validate, wildcard_match,
};
use std::sync::Arc;

const TYPES: [PolicyType; 8] = [
    PolicyType::Identity,
    PolicyType::Resource,
    PolicyType::Trust,
    PolicyType::Boundary,
    PolicyType::Session,
    PolicyType::Scp,
    PolicyType::Rcp,
    PolicyType::Endpoint,
];

/// Parse, validate, compile and evaluate `data` as every policy type.
pub fn policy_bytes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut alice = Principal::new(
        PrincipalKind::RoleSession,
        "arn:aws:sts::111122223333:assumed-role/r/s",
        "111122223333",
    );
    alice.tags.insert("team", "a*");
    let anon = Principal::new(PrincipalKind::Anonymous, "", "");
    let res = Resource::new("arn:aws:s3:::bucket/key", "111122223333");
    let ctx = Context::new()
        .with("aws:SourceIp", "10.0.0.1")
        .with("aws:CurrentTime", "2024-01-01T00:00:00Z")
        .with("aws:TagKeys", vec!["a".to_string(), "b".to_string()])
        .with("s3:prefix", text.get(..text.len().min(16)).unwrap_or(""));
    for ty in TYPES {
        let _ = validate(text, ty);
        let Ok(p) = parse(text, ty) else { continue };
        let _ = context_keys(&p);
        let set = PolicySet::single(Arc::new(CompiledPolicy::new(&p, "fuzz")));
        for principal in [&alice, &anon] {
            for action in ["s3:GetObject", "IAM:PassRole", "sts:AssumeRole"] {
                let req = Request {
                    principal,
                    action,
                    resource: &res,
                    context: &ctx,
                };
                let levels = std::slice::from_ref(&set);
                let ps = Policies {
                    identity: Some(&set),
                    resource: Some(&set),
                    boundary: Some(&set),
                    session: Some(&set),
                    scps: levels,
                    rcps: levels,
                    endpoint: Some(&set),
                    ..Default::default()
                };
                let d = evaluate(&ps, &req);
                let _ = d.reason(action);
            }
        }
    }
}

/// Parse and evaluate `data` as REQUEST.json; run the wildcard matcher on it.
pub fn request_bytes(data: &[u8]) {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(r) = crate::request::EvalRequest::from_json(text) {
        let d = r.evaluate();
        let _ = crate::request::decision_json(&d);
    }
    if let Some((p, t)) = text.split_once('\n') {
        let _ = wildcard_match(p, t);
    }
}
