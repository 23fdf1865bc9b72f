//! The IAM users and roles a role's trust policy names. IAM binds a trust to the
//! principal, not to its name: a trust may only name principals that exist, a rename
//! rewrites the ARN in every trust that names it, and a delete rewrites it to the
//! deleted principal's unique id, which nothing created later has (so a namesake
//! never inherits the trust).

use rampart_policy::{PolicyType, PrincipalSpec};
use rampart_store::Mutation;
use serde_json::Value;

use super::entity;
use crate::error::ServiceError;
use crate::records::Role;
use crate::view::View;

/// MalformedPolicyDocument unless every user and role ARN the trust policy `document`
/// names as an `AWS` principal exists, with that path.
pub(super) fn check_exist(view: &View, document: &str) -> Result<(), ServiceError> {
    let Ok(policy) = rampart_policy::parse(document, PolicyType::Trust) else {
        return Ok(());
    };
    let named = policy
        .statements
        .iter()
        .filter_map(|s| match &s.principal {
            Some(PrincipalSpec::Map(map)) => Some(map),
            _ => None,
        })
        .flatten()
        .filter(|(kind, _)| kind == "AWS")
        .flat_map(|(_, arns)| arns);
    for arn in named {
        if !exists(view, arn) {
            return Err(ServiceError::modeled(
                "MalformedPolicyDocument",
                format!("Invalid principal in policy: \"AWS\":\"{arn}\""),
            ));
        }
    }
    Ok(())
}

/// Whether an `AWS` principal names something that exists: any account, and the user
/// or role an IAM ARN names (other principals are not looked up).
fn exists(view: &View, principal: &str) -> bool {
    let Some((account, resource)) = principal
        .strip_prefix("arn:aws:iam::")
        .and_then(|r| r.split_once(':'))
    else {
        return true;
    };
    let name = resource.rsplit('/').next().unwrap_or("");
    match resource.split('/').next() {
        Some("user") => view
            .user(account, name)
            .is_some_and(|u| u.arn() == principal),
        Some("role") => view.role_by_arn(principal).is_some(),
        _ => true,
    }
}

/// The writes that make every trust policy naming `old` (a user's or role's ARN) name
/// `new` instead: its new ARN after a rename, its unique id after a delete. `except`
/// is a role left alone (the one being deleted).
pub(super) fn follow(
    view: &View,
    old: &str,
    new: &str,
    except: Option<&Role>,
) -> Result<Vec<Mutation>, ServiceError> {
    let mut mutations = Vec::new();
    for role in view.roles.values() {
        if except.is_some_and(|e| e.role_id == role.role_id)
            || !role.assume_role_policy.contains(old)
        {
            continue;
        }
        let Ok(mut document) = serde_json::from_str::<Value>(&role.assume_role_policy) else {
            continue;
        };
        if rewrite(&mut document, old, new) {
            let mut role = role.clone();
            role.assume_role_policy = document.to_string();
            mutations.push(entity::update(view, &role)?);
        }
    }
    Ok(mutations)
}

/// Replaces `old` by `new` among the `AWS` principals of every statement of a policy
/// document; whether it replaced any.
fn rewrite(document: &mut Value, old: &str, new: &str) -> bool {
    let statements = match document.get_mut("Statement") {
        Some(Value::Array(list)) => list.iter_mut().collect(),
        Some(one) => vec![one],
        None => Vec::new(),
    };
    let mut changed = false;
    for statement in statements {
        for element in ["Principal", "NotPrincipal"] {
            let Some(aws) = statement.get_mut(element).and_then(|p| p.get_mut("AWS")) else {
                continue;
            };
            let values = match aws {
                Value::Array(list) => list.iter_mut().collect(),
                one => vec![one],
            };
            for value in values {
                if value.as_str() == Some(old) {
                    *value = Value::String(new.to_owned());
                    changed = true;
                }
            }
        }
    }
    changed
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rewrites_the_principal_wherever_a_statement_names_it() {
        let bob = "arn:aws:iam::111122223333:user/bob";
        let mut document = json!({"Statement": [
            {"Effect": "Allow", "Principal": {"AWS": bob}, "Action": "sts:AssumeRole"},
            {"Effect": "Deny", "NotPrincipal": {"AWS": [bob, "111122223333"]}, "Action": "*"},
            {"Effect": "Allow", "Principal": {"Service": bob}, "Action": "*"},
        ]});
        assert!(rewrite(&mut document, bob, "AIDAEXAMPLE"));
        assert_eq!(document["Statement"][0]["Principal"]["AWS"], "AIDAEXAMPLE");
        assert_eq!(
            document["Statement"][1]["NotPrincipal"]["AWS"],
            json!(["AIDAEXAMPLE", "111122223333"])
        );
        assert_eq!(document["Statement"][2]["Principal"]["Service"], bob);
        assert!(!rewrite(&mut document, bob, "AIDAEXAMPLE"));
    }
}
