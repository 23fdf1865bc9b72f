//! Turns one API call into its CloudTrail event: the record `LookupEvents` returns as
//! `CloudTrailEvent`, and the fields it filters on.

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_store::AuditEvent;
use serde_json::{Value, json};

use crate::caller::Caller;

/// What CloudTrail records of one call. Parameters and response elements arrive
/// already redacted of secrets.
pub struct ApiCall<'a> {
    pub caller: &'a Caller,
    /// The service's endpoint prefix (`iam`, `sts`, ...).
    pub service: &'a str,
    pub event_name: &'a str,
    pub region: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub request_id: &'a str,
    pub read_only: bool,
    pub request_parameters: Option<Value>,
    pub response_elements: Option<Value>,
    /// AWS's error code and message, when the call failed.
    pub error: Option<(&'a str, &'a str)>,
    /// `(resource type, resource name)` pairs the call concerns.
    pub resources: Vec<(String, String)>,
    pub time: DateTime<Utc>,
}

/// The CloudTrail event of `call`.
pub fn event(call: ApiCall<'_>) -> AuditEvent {
    let event_id = uuid::Uuid::new_v4().to_string();
    let event_source = format!("{}.amazonaws.com", call.service);
    let caller = call.caller;
    let mut identity = json!({
        "type": caller.principal_type.cloudtrail_name(),
        "principalId": caller.user_id,
        "arn": caller.arn,
        "accountId": caller.account_id,
    });
    if let Some(key) = &caller.access_key_id {
        identity["accessKeyId"] = json!(key);
    }
    if let Some(name) = &caller.user_name {
        identity["userName"] = json!(name);
    }
    let mut record = json!({
        "eventVersion": "1.08",
        "userIdentity": identity,
        "eventTime": call.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "eventSource": event_source,
        "eventName": call.event_name,
        "awsRegion": call.region,
        "sourceIPAddress": call.source_ip,
        "userAgent": call.user_agent,
        "requestParameters": call.request_parameters.map(lower_camel_keys),
        "responseElements": call.response_elements.map(lower_camel_keys),
        "requestID": call.request_id,
        "eventID": event_id,
        "readOnly": call.read_only,
        "resources": call.resources.iter().map(|(t, n)| json!({"type": t, "ARN": n})).collect::<Vec<_>>(),
        "eventType": "AwsApiCall",
        "managementEvent": true,
        "recipientAccountId": caller.account_id,
        "eventCategory": "Management",
    });
    if let Some((code, message)) = call.error {
        record["errorCode"] = json!(code);
        record["errorMessage"] = json!(message);
    }
    AuditEvent {
        event_id,
        event_time: call.time,
        account_id: caller.account_id.clone(),
        event_name: call.event_name.to_owned(),
        event_source,
        username: caller.user_name.clone().or_else(|| {
            (caller.principal_type == crate::caller::PrincipalType::Root).then(|| "root".to_owned())
        }),
        access_key_id: caller.access_key_id.clone(),
        read_only: call.read_only,
        resources: call.resources,
        record,
    }
}

/// CloudTrail spells request parameters in lower camel case (`userName`), where the
/// wire models use Pascal case (`UserName`).
fn lower_camel_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.into_iter()
                .map(|(k, v)| {
                    let mut chars = k.chars();
                    let key = match chars.next() {
                        Some(first) => first.to_lowercase().chain(chars).collect(),
                        None => k,
                    };
                    (key, lower_camel_keys(v))
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.into_iter().map(lower_camel_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_has_cloudtrail_fields_and_lower_camel_parameters() {
        let caller = Caller::root("123456789012", Some("AKIAEXAMPLE".into()));
        let event = event(ApiCall {
            caller: &caller,
            service: "iam",
            event_name: "CreateUser",
            region: "us-east-1",
            source_ip: "127.0.0.1",
            user_agent: "aws-cli/1",
            request_id: "req-1",
            read_only: false,
            request_parameters: Some(json!({"UserName": "bob", "Tags": [{"Key": "a"}]})),
            response_elements: None,
            error: Some(("EntityAlreadyExists", "User with name bob already exists.")),
            resources: vec![],
            time: DateTime::UNIX_EPOCH,
        });
        let r = &event.record;
        assert_eq!(r["eventSource"], "iam.amazonaws.com");
        assert_eq!(r["userIdentity"]["type"], "Root");
        assert_eq!(
            r["requestParameters"],
            json!({"userName": "bob", "tags": [{"key": "a"}]})
        );
        assert_eq!(r["errorCode"], "EntityAlreadyExists");
        assert_eq!(r["eventTime"], "1970-01-01T00:00:00Z");
        assert_eq!(r["recipientAccountId"], "123456789012");
        assert_eq!(event.username.as_deref(), Some("root"));
        assert!(!event.read_only);
    }
}
