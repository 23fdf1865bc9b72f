//! Table-driven fixtures written from AWS's documentation. Each case names the
//! section it encodes (`doc`). Files: `fixtures/conditions.json` (every condition
//! operator and variable rule, through an identity policy), `fixtures/evaluation.json`
//! (every policy type and special case, as REQUEST.json documents) and
//! `fixtures/validation.json` (MalformedPolicyDocument messages and lint codes).

use rampart_policy::request::EvalRequest;
use rampart_policy::{DecisionKind, PolicyType, parse, validate};
use serde_json::{Value, json};

fn cases(text: &str) -> Vec<Value> {
    serde_json::from_str::<Vec<Value>>(text).expect("fixture file is a JSON array")
}

fn report(failures: &[String], total: usize) {
    assert!(
        failures.is_empty(),
        "{} of {total} failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn base_request() -> Value {
    json!({
        "principal": {"arn": "arn:aws:iam::111122223333:user/alice", "type": "user"},
        "action": "s3:GetObject",
        "resource": {"arn": "arn:aws:s3:::bucket/key", "account": "111122223333"}
    })
}

fn run(req: &Value) -> rampart_policy::Decision {
    let text = req.to_string();
    EvalRequest::from_json(&text)
        .unwrap_or_else(|e| panic!("request does not parse: {e}\n{text}"))
        .evaluate()
}

#[test]
fn condition_fixtures() {
    let mut failures = Vec::new();
    let all = cases(include_str!("fixtures/conditions.json"));
    for c in &all {
        let mut req = base_request();
        req["identityPolicies"] = json!([{"Version": "2012-10-17", "Statement": {
            "Effect": "Allow", "Action": "s3:GetObject", "Resource": "*", "Condition": c["cond"]}}]);
        if let Some(ctx) = c.get("context") {
            req["context"] = ctx.clone();
        }
        if let Some(t) = c.get("tags") {
            req["principal"]["tags"] = t.clone();
        }
        if let Some(t) = c.get("resource_tags") {
            req["resource"]["tags"] = t.clone();
        }
        let got = run(&req).kind == DecisionKind::Allow;
        if got != c["expect"].as_bool().unwrap() {
            failures.push(format!("{} ({}): got allow={got}", c["name"], c["doc"]));
        }
    }
    report(&failures, all.len());
}

#[test]
fn evaluation_fixtures() {
    let mut failures = Vec::new();
    let all = cases(include_str!("fixtures/evaluation.json"));
    for c in &all {
        let mut req = base_request();
        for (k, v) in c["request"].as_object().unwrap() {
            req[k] = v.clone();
        }
        let d = run(&req);
        let mut problems = Vec::new();
        if d.kind.name() != c["expect"].as_str().unwrap() {
            problems.push(format!("decision {}", d.kind.name()));
        }
        if let Some(by) = c.get("by").and_then(Value::as_str)
            && d.decided_by.name() != by
        {
            problems.push(format!("decided by {}", d.decided_by.name()));
        }
        if let Some(m) = c.get("matched").and_then(Value::as_array) {
            let got: Vec<Value> = d
                .matched
                .iter()
                .map(|s| json!([s.policy_id(), s.statement_index(), s.sid()]))
                .collect();
            if &got != m {
                problems.push(format!("matched {got:?}"));
            }
        }
        if !problems.is_empty() {
            failures.push(format!(
                "{} ({}): {}",
                c["name"],
                c["doc"],
                problems.join(", ")
            ));
        }
    }
    report(&failures, all.len());
}

fn padded_policy(big: usize, pad: usize) -> String {
    let filler = "x".repeat(big.saturating_sub(80));
    let spaces = " ".repeat(pad);
    format!(
        r#"{{{spaces}"Statement":{{"Effect":"Allow","Principal":{{"AWS":"111122223333"}},"Action":"sts:AssumeRole","Condition":{{"StringEquals":{{"aws:username":"{filler}"}}}}}}}}"#
    )
}

#[test]
fn validation_fixtures() {
    let mut failures = Vec::new();
    let all = cases(include_str!("fixtures/validation.json"));
    for c in &all {
        let ty = PolicyType::from_name(c["type"].as_str().unwrap()).unwrap();
        let text = if let Some(raw) = c.get("raw") {
            raw.as_str().unwrap().to_string()
        } else if let Some(big) = c.get("big") {
            let mut t = padded_policy(
                big.as_u64().unwrap() as usize,
                c.get("pad").and_then(Value::as_u64).unwrap_or(0) as usize,
            );
            if ty != PolicyType::Trust {
                t = t
                    .replace(r#""Principal":{"AWS":"111122223333"},"#, "")
                    .replace(
                        r#""Action":"sts:AssumeRole""#,
                        r#""Action":"sts:AssumeRole","Resource":"*""#,
                    );
            }
            t
        } else {
            c["policy"].to_string()
        };
        if let Some(err) = c.get("error").and_then(Value::as_str) {
            match parse(&text, ty) {
                Ok(_) => failures.push(format!("{} ({}): parsed", c["name"], c["doc"])),
                Err(e) if e.message() != err => failures.push(format!(
                    "{} ({}): message {:?}",
                    c["name"],
                    c["doc"],
                    e.message()
                )),
                Err(_) => {}
            }
            // The validator reports parse errors as one ERROR finding.
            let f = validate(&text, ty);
            if f.len() != 1 || f[0].details != err {
                failures.push(format!("{}: validate gave {f:?}", c["name"]));
            }
        }
        if let Some(want) = c.get("findings").and_then(Value::as_array) {
            let mut got: Vec<&str> = validate(&text, ty).iter().map(|f| f.issue_code).collect();
            let mut want: Vec<&str> = want.iter().map(|w| w.as_str().unwrap()).collect();
            got.sort_unstable();
            want.sort_unstable();
            if got != want {
                failures.push(format!("{} ({}): findings {got:?}", c["name"], c["doc"]));
            }
        }
    }
    report(&failures, all.len());
}
