//! What KMS's CloudTrail events say beyond the call's redacted input, as AWS documents
//! them: the key a call acts on (in `resources`), and the encryption algorithm of every
//! `Decrypt` (in `requestParameters`, even when the request left it out).

use serde_json::Value;

use crate::authorize::{Permission, TrailResource};
use crate::view::View;

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
