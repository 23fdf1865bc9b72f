//! AWS Identity and Access Management. This build serves users and their access
//! keys; groups, roles, policies and MFA arrive with issue 4 on the same records.

pub(crate) mod access_keys;
mod users;

use crate::error::ServiceError;

use crate::call::{Call, Outcome, from_canonical};

/// The IAM operations rampart serves.
pub async fn handle(
    operation: &str,
    call: &Call<'_>,
    input: serde_json::Value,
) -> Result<Outcome, ServiceError> {
    match operation {
        "CreateUser" => users::create(call, from_canonical(input)?),
        "GetUser" => users::get(call, from_canonical(input)?),
        "DeleteUser" => users::delete(call, from_canonical(input)?),
        "CreateAccessKey" => access_keys::create(call, from_canonical(input)?),
        "UpdateAccessKey" => access_keys::update(call, from_canonical(input)?),
        "DeleteAccessKey" => access_keys::delete(call, from_canonical(input)?),
        "ListAccessKeys" => access_keys::list(call, from_canonical(input)?),
        _ => Err(ServiceError::not_implemented("iam", operation)),
    }
}

/// IAM's `NoSuchEntity` (404).
fn no_such_entity(message: String) -> ServiceError {
    ServiceError::modeled("NoSuchEntity", message)
}

/// The user a call names, or the calling user when it names none (as IAM resolves
/// `UserName` in access key operations).
fn target_user_name<'a>(
    call: &'a Call<'_>,
    named: Option<&'a str>,
) -> Result<&'a str, ServiceError> {
    named.or(call.caller.user_name.as_deref()).ok_or_else(|| {
        ServiceError::Validation(
            "Must specify userName when calling with non-User credentials".to_owned(),
        )
    })
}
