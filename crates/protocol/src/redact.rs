//! Redaction for the audit trail: every value whose shape the model marks
//! `sensitive` (secret access keys, passwords, private keys, SAML assertions, ...)
//! is replaced, so that CloudTrail events never carry a secret; and binary payloads
//! (blob members: ciphertexts, plaintexts, messages, signatures, seeds) are left out, as
//! CloudTrail leaves them out (KMS's documented Encrypt and Decrypt events, for one, omit
//! the plaintext and the ciphertext).

use serde_json::Value;

use crate::Route;
use crate::model::{ServiceModel, ShapeId, ShapeKind};

/// What CloudTrail writes in place of a sensitive value.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

impl Route {
    /// The operation's input (canonical form) with its sensitive values hidden and its
    /// blobs left out.
    pub fn redact_input(&self, input: &Value) -> Value {
        match self.operation().input {
            Some(shape) => redact(self.service, shape, input),
            None => input.clone(),
        }
    }

    /// The operation's output (canonical form) with its sensitive values hidden and its
    /// blobs left out.
    pub fn redact_output(&self, output: &Value) -> Value {
        match self.operation().output {
            Some(shape) => redact(self.service, shape, output),
            None => output.clone(),
        }
    }
}

/// `value` read as shape `shape` of `service`, with sensitive values hidden and blob
/// members left out. Members the shape does not know are kept as they are.
pub fn redact(service: &ServiceModel, shape: ShapeId, value: &Value) -> Value {
    let model = service.shape(shape);
    if model.sensitive {
        return Value::String(HIDDEN.to_owned());
    }
    match (model.kind, value) {
        (ShapeKind::Structure, Value::Object(members)) => Value::Object(
            members
                .iter()
                .filter_map(|(name, v)| {
                    let redacted = match model.member_named(name) {
                        Some(member) if service.shape(member.shape).kind == ShapeKind::Blob => {
                            return None;
                        }
                        Some(member) => redact(service, member.shape, v),
                        None => v.clone(),
                    };
                    Some((name.clone(), redacted))
                })
                .collect(),
        ),
        (ShapeKind::List, Value::Array(items)) => match &model.member {
            Some(member) => Value::Array(
                items
                    .iter()
                    .map(|v| redact(service, member.shape, v))
                    .collect(),
            ),
            None => value.clone(),
        },
        (ShapeKind::Map, Value::Object(entries)) => match &model.value {
            Some(member) => Value::Object(
                entries
                    .iter()
                    .map(|(k, v)| (k.clone(), redact(service, member.shape, v)))
                    .collect(),
            ),
            None => value.clone(),
        },
        _ => value.clone(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::model::Services;

    #[test]
    fn hides_the_secret_of_a_new_access_key_and_keeps_the_rest() {
        let iam = Services::get("iam").unwrap();
        let route = Route::by_name(iam, "CreateAccessKey").unwrap();
        let output = json!({"AccessKey": {"UserName": "bob", "AccessKeyId": "AKIA1",
            "Status": "Active", "SecretAccessKey": "s3cr3t", "CreateDate": 0}});
        let redacted = route.redact_output(&output);
        assert_eq!(redacted["AccessKey"]["SecretAccessKey"], HIDDEN);
        assert_eq!(redacted["AccessKey"]["AccessKeyId"], "AKIA1");
    }

    #[test]
    fn hides_sensitive_input_inside_lists_and_structures() {
        let sts = Services::get("sts").unwrap();
        let route = Route::by_name(sts, "AssumeRoleWithSAML").unwrap();
        let input = json!({"RoleArn": "arn:aws:iam::1:role/r", "PrincipalArn": "arn:aws:iam::1:saml-provider/p",
            "SAMLAssertion": "PHNhbWw+"});
        let redacted = route.redact_input(&input);
        assert_eq!(redacted["SAMLAssertion"], HIDDEN);
        assert_eq!(redacted["RoleArn"], "arn:aws:iam::1:role/r");
    }

    #[test]
    fn leaves_out_binary_payloads() {
        let kms = Services::get("kms").unwrap();
        let route = Route::by_name(kms, "Decrypt").unwrap();
        let input = json!({"CiphertextBlob": "AQID", "EncryptionContext": {"k": "v"},
            "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"});
        let redacted = route.redact_input(&input);
        assert_eq!(
            redacted,
            json!({"EncryptionContext": {"k": "v"}, "EncryptionAlgorithm": "SYMMETRIC_DEFAULT"})
        );
        let route = Route::by_name(kms, "Encrypt").unwrap();
        let redacted = route.redact_input(&json!({"KeyId": "alias/a", "Plaintext": "AQID"}));
        assert_eq!(redacted, json!({"KeyId": "alias/a"}));
    }
}
