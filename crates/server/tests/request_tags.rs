//! Every operation input with a `Tags` member, in every service model rampart embeds,
//! shaped as that model shapes it: authorization must read its tags
//! (`aws:RequestTag/*`, `aws:TagKeys`) whatever the member names are.

use rampart_protocol::model::{Member, ServiceModel, Services, ShapeKind};
use rampart_services::authorize::request_tags;
use serde_json::{Value, json};

/// One tag `owner=alice` in the shape `member` points to; `None` for a shape that is
/// not a list of two-member structures or a map.
fn one_tag(model: &ServiceModel, member: &Member) -> Option<Value> {
    let shape = model.shape(member.shape);
    match shape.kind {
        ShapeKind::List => {
            let item = model.shape(shape.member.as_ref()?.shape);
            let [key, value] = item.members.as_slice() else {
                return None;
            };
            Some(json!([{ key.name.as_str(): "owner", value.name.as_str(): "alice" }]))
        }
        ShapeKind::Map => Some(json!({ "owner": "alice" })),
        _ => None,
    }
}

#[test]
fn every_models_tags_member_reaches_authorization() {
    let mut checked = Vec::new();
    for model in Services::all() {
        for operation in &model.operations {
            let Some(input) = operation.input else {
                continue;
            };
            let Some(member) = model.shape(input).member_named("Tags") else {
                continue;
            };
            let tags = one_tag(model, member).unwrap_or_else(|| {
                panic!(
                    "{}:{}: a Tags shape this test does not know",
                    model.name, operation.name
                )
            });
            let input = json!({ "Tags": tags });
            assert_eq!(
                request_tags(&input),
                Some(vec![("owner", "alice")]),
                "{}:{} with {input}",
                model.name,
                operation.name
            );
            checked.push(format!("{}:{}", model.name, operation.name));
        }
    }
    for expected in [
        "iam:TagRole",
        "sts:AssumeRole",
        "kms:CreateKey",
        "kms:TagResource",
        "organizations:TagResource",
    ] {
        assert!(
            checked.iter().any(|c| c == expected),
            "{expected} not checked: {checked:?}"
        );
    }
}
