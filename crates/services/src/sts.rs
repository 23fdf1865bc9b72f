//! AWS Security Token Service. This module answers who a caller is; temporary
//! credentials arrive with IAM (issue 4).

use crate::error::ServiceError;
use serde::Serialize;

use crate::call::{Call, Outcome};

/// The STS operations rampart serves.
pub async fn handle(operation: &str, call: &Call<'_>) -> Result<Outcome, ServiceError> {
    match operation {
        "GetCallerIdentity" => get_caller_identity(call),
        _ => Err(ServiceError::not_implemented("sts", operation)),
    }
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetCallerIdentityOutput<'a> {
    user_id: &'a str,
    account: &'a str,
    arn: &'a str,
}

/// Needs no permission: AWS answers it even under an explicit deny.
fn get_caller_identity(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    Outcome::read(&GetCallerIdentityOutput {
        user_id: &call.caller.user_id,
        account: &call.caller.account_id,
        arn: &call.caller.arn,
    })
}
