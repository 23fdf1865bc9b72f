//! Authorization: which permission each operation needs (its action and resource
//! ARN), and whether the caller has it, decided by the policy engine over the compiled
//! policies in the view. Nothing here reads storage.

use rampart_policy::{Context, Policies, Principal, PrincipalKind, Request, Resource, evaluate};

use crate::call::Call;
use crate::caller::PrincipalType;
use crate::error::ServiceError;

/// What an operation asks the policy engine for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Permission {
    /// `service:Operation`.
    pub action: String,
    /// The resource ARN, or `*` for actions without a resource type.
    pub resource: String,
}

/// The permission `operation` of `service` needs for this input, or `None` when AWS
/// requires none (sts:GetCallerIdentity answers even under an explicit deny).
pub fn required(
    call: &Call<'_>,
    service: &str,
    operation: &str,
    input: &serde_json::Value,
) -> Option<Permission> {
    if (service, operation) == ("sts", "GetCallerIdentity") {
        return None;
    }
    let resource = match service {
        "iam" => iam_resource(call, operation, input),
        _ => None,
    };
    Some(Permission {
        action: format!("{service}:{operation}"),
        resource: resource.unwrap_or_else(|| "*".to_owned()),
    })
}

/// The user an IAM user or access key operation acts on: `UserName`, else the caller.
fn iam_resource(call: &Call<'_>, operation: &str, input: &serde_json::Value) -> Option<String> {
    let account = &call.caller.account_id;
    let named = input.get("UserName").and_then(|v| v.as_str());
    let user_name = named.or(call.caller.user_name.as_deref())?;
    if operation == "CreateUser" {
        let path = input.get("Path").and_then(|v| v.as_str()).unwrap_or("/");
        return Some(format!("arn:aws:iam::{account}:user{path}{user_name}"));
    }
    let view = call.plane.view();
    let path = view
        .users
        .get(&crate::records::user_id(account, user_name))
        .map_or("/", |u| u.path.as_str());
    Some(format!("arn:aws:iam::{account}:user{path}{user_name}"))
}

/// Allows the call, or denies it with AWS's AccessDenied message.
pub fn authorize(
    call: &Call<'_>,
    service: &str,
    operation: &str,
    input: &serde_json::Value,
) -> Result<(), ServiceError> {
    let Some(permission) = required(call, service, operation, input) else {
        return Ok(());
    };
    let caller = call.caller;
    let kind = match caller.principal_type {
        // The root user may do everything in its own account (SCPs arrive with
        // Organizations).
        PrincipalType::Root => return Ok(()),
        PrincipalType::IamUser => PrincipalKind::User,
    };
    let mut principal = Principal::new(kind, caller.arn.as_str(), caller.account_id.as_str());
    principal.user_id = Some(caller.user_id.clone());
    let resource = Resource::new(permission.resource.as_str(), caller.account_id.as_str());
    let context = request_context(call);
    let view = call.plane.view();
    let identity = view.identity_policies(
        &caller.account_id,
        caller.user_name.as_deref().unwrap_or(""),
    );
    let decision = evaluate(
        &Policies {
            identity: identity.as_deref(),
            ..Policies::default()
        },
        &Request {
            principal: &principal,
            action: &permission.action,
            resource: &resource,
            context: &context,
        },
    );
    if decision.is_allowed() {
        Ok(())
    } else {
        Err(ServiceError::AccessDenied(decision.access_denied_message(
            &caller.arn,
            &permission.action,
            &permission.resource,
        )))
    }
}

/// The global condition keys every request carries.
fn request_context(call: &Call<'_>) -> Context {
    let mut context = Context::new();
    context.insert(
        "aws:CurrentTime",
        call.now.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
    );
    context.insert("aws:EpochTime", call.now.timestamp().to_string());
    context.insert("aws:RequestedRegion", call.region);
    context.insert("aws:SourceIp", call.source_ip);
    context.insert("aws:UserAgent", call.user_agent);
    context.insert("aws:SecureTransport", false);
    context
}
