//! What KMS's CloudTrail events say beyond the call's redacted input, as AWS documents
//! them: the key a call acts on (in `resources`), and the encryption algorithm of every
//! `Decrypt` (in `requestParameters`, even when the request left it out). And what KMS
//! reads back from the trail: GetKeyLastUsage, the newest successful cryptographic call
//! that names the key.

use rampart_store::{AuditQuery, LookupAttribute};
use serde_json::{Value, json};

use super::{KeyInput, resolve};
use crate::authorize::{Permission, TrailResource};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::view::View;

/// The operations whose success counts as using a key (KMS's cryptographic operations
/// that take a key; GetPublicKey reads only the public half).
const CRYPTOGRAPHIC_OPERATIONS: &[&str] = &[
    "Decrypt",
    "DeriveSharedSecret",
    "Encrypt",
    "GenerateDataKey",
    "GenerateDataKeyPair",
    "GenerateDataKeyPairWithoutPlaintext",
    "GenerateDataKeyWithoutPlaintext",
    "GenerateMac",
    "ReEncrypt",
    "Sign",
    "Verify",
    "VerifyMac",
];

/// GetKeyLastUsage: the key's newest successful cryptographic call in the trail (events
/// list the key they act on; a ReEncrypt lists its source key). rampart has recorded
/// every call since the key was created, so tracking starts at its creation. Read-only
/// calls reach the trail a few milliseconds after they answer, as they reach
/// LookupEvents.
pub async fn last_usage(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    let (arn, created) = {
        let view = call.plane.view();
        let entry = resolve(&view, call, &input.key_id)?;
        (entry.arn().to_owned(), entry.key.created)
    };
    let mut query = AuditQuery::new(call.caller.account_id.clone());
    query.lookup = Some((LookupAttribute::ResourceName, arn.clone()));
    let mut last_usage = json!({});
    loop {
        let page = crate::audit::lookup(call, query.clone()).await?;
        let used = page
            .events
            .into_iter()
            .map(|stored| stored.event)
            .find(|e| {
                CRYPTOGRAPHIC_OPERATIONS.contains(&e.event_name.as_str())
                    && e.record.get("errorCode").is_none()
            });
        if let Some(e) = used {
            last_usage = json!({
                "Operation": e.event_name,
                "Timestamp": e.event_time.timestamp(),
                "CloudTrailEventId": e.event_id,
                "KmsRequestId": e.record["requestID"],
            });
            break;
        }
        match page.next_token {
            Some(token) => query.next_token = Some(token),
            None => break,
        }
    }
    Ok(Outcome::output(json!({
        "KeyId": arn,
        "KeyLastUsage": last_usage,
        "TrackingStartDate": created,
        "KeyCreationDate": created,
    })))
}

/// The key an allowed call acts on, as its event lists it.
pub fn resources(view: &View, permission: &Permission) -> Vec<TrailResource> {
    match super::authz::key_of(view, permission) {
        Some(key) => vec![("AWS::KMS::Key".to_owned(), key.arn().to_owned())],
        None => Vec::new(),
    }
}

/// Adds to `parameters` (the redacted input of `operation`) what AWS's event names
/// though the request did not.
pub fn complete_request_parameters(operation: &str, parameters: &mut Value) {
    if operation == "Decrypt"
        && let Value::Object(members) = parameters
    {
        members
            .entry("EncryptionAlgorithm")
            .or_insert_with(|| Value::from("SYMMETRIC_DEFAULT"));
    }
}
