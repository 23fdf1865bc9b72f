//! Turns one API call into its CloudTrail event: the record `LookupEvents` returns as
//! `CloudTrailEvent`, and the fields it filters on; and reads the trail back for the
//! services that answer from it ([`lookup`]).

use std::borrow::Cow;

use chrono::{DateTime, SecondsFormat, Utc};
use rampart_store::{
    AuditEvent, AuditPage, AuditQuery, PreparedAuditEvent, write_canonical_json, write_json_string,
};
use serde_json::Value;

use crate::call::Call;
use crate::caller::Caller;
use crate::error::ServiceError;

/// One page of the trail, for a service that answers from it (a key's last use, an
/// access key's, the services an entity last accessed).
pub(crate) async fn lookup(call: &Call<'_>, query: AuditQuery) -> Result<AuditPage, ServiceError> {
    call.plane
        .store()
        .lookup_audit(query)
        .await
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

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

/// A call's request parameters as CloudTrail records them: its input (already
/// redacted), plus what the service's events name even when the caller left it out
/// ([`crate::kms::trail`]).
pub fn request_parameters(service: &str, operation: &str, mut redacted: Value) -> Value {
    if service == "kms" {
        crate::kms::trail::complete_request_parameters(operation, &mut redacted);
    }
    redacted
}

/// The CloudTrail event of `call`, its record as a JSON tree (what a commit carries).
pub fn event(call: ApiCall<'_>) -> AuditEvent {
    prepared_event(call).into_event()
}

/// The CloudTrail event of `call`, its record written directly as canonical JSON (sorted
/// keys, compact: what the store hashes and keeps), without building a JSON tree: what
/// the request path queues for the audit writer.
pub fn prepared_event(call: ApiCall<'_>) -> PreparedAuditEvent {
    // A version 7 UUID (time-ordered, random below the millisecond): consecutive events
    // land next to each other in the store's event id index, where random (version 4)
    // ids would each dirty another index page of an ever larger trail.
    let event_id = uuid::Uuid::now_v7().to_string();
    let event_source = format!("{}.amazonaws.com", call.service);
    let caller = call.caller;
    let event_time = call.time.to_rfc3339_opts(SecondsFormat::Secs, true);
    let mut r = Record::new();
    // Keys in bytewise order (the test below checks that the result is canonical).
    r.key("awsRegion").string(call.region);
    if let Some((code, message)) = call.error {
        r.key("errorCode").string(code);
        r.key("errorMessage").string(message);
    }
    r.key("eventCategory").string("Management");
    r.key("eventID").string(&event_id);
    r.key("eventName").string(call.event_name);
    r.key("eventSource").string(&event_source);
    r.key("eventTime").string(&event_time);
    r.key("eventType").string("AwsApiCall");
    r.key("eventVersion").string("1.08");
    r.key("managementEvent").raw(b"true");
    r.key("readOnly")
        .raw(if call.read_only { b"true" } else { b"false" });
    r.key("recipientAccountId").string(&caller.account_id);
    r.key("requestID").string(call.request_id);
    r.key("requestParameters");
    r.lower_camel(call.request_parameters.as_ref());
    r.key("resources").raw(b"[");
    for (i, (t, n)) in call.resources.iter().enumerate() {
        if i > 0 {
            r.raw(b",");
        }
        // The account that holds the resource: the one its ARN names.
        let account = n.split(':').nth(4).filter(|a| !a.is_empty());
        r.raw(b"{\"ARN\":")
            .string(n)
            .raw(b",\"accountId\":")
            .string(account.unwrap_or(&caller.account_id))
            .raw(b",\"type\":")
            .string(t)
            .raw(b"}");
    }
    r.raw(b"]");
    r.key("responseElements");
    r.lower_camel(call.response_elements.as_ref());
    r.key("sourceIPAddress").string(call.source_ip);
    r.key("userAgent").string(call.user_agent);
    r.key("userIdentity").raw(b"{");
    if let Some(key) = &caller.access_key_id {
        r.raw(b"\"accessKeyId\":").string(key).raw(b",");
    }
    r.raw(b"\"accountId\":").string(&caller.account_id);
    r.raw(b",\"arn\":").string(&caller.arn);
    r.raw(b",\"principalId\":").string(&caller.user_id);
    r.raw(b",\"type\":")
        .string(caller.principal_type.cloudtrail_name());
    if let Some(name) = &caller.user_name {
        r.raw(b",\"userName\":").string(name);
    }
    r.raw(b"}");
    let record = r.finish();
    let event = AuditEvent {
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
        record: Value::Null,
    };
    PreparedAuditEvent::with_canonical_record(event, &record)
}

/// What CloudTrail records of something a service did by itself rather than at a
/// caller's request (an `AwsServiceEvent`, such as KMS rotating a key on its schedule).
pub struct ServiceEvent<'a> {
    pub account_id: &'a str,
    /// The service's endpoint prefix (`kms`, ...).
    pub service: &'a str,
    pub event_name: &'a str,
    pub region: &'a str,
    /// `(resource type, ARN)` pairs the event concerns.
    pub resources: Vec<(String, String)>,
    /// `serviceEventDetails`.
    pub details: Value,
    pub time: DateTime<Utc>,
}

/// Who CloudTrail says acted in a service event (`userIdentity.invokedBy`), and from
/// where (`sourceIPAddress`, `userAgent`).
const AWS_INTERNAL: &str = "AWS Internal";

/// The CloudTrail event of `event`, as AWS writes service events: no caller, only the
/// account and `invokedBy`, no request and no response.
pub fn service_event(event: ServiceEvent<'_>) -> AuditEvent {
    let event_id = uuid::Uuid::now_v7().to_string();
    let event_source = format!("{}.amazonaws.com", event.service);
    let resources: Vec<Value> = event
        .resources
        .iter()
        .map(|(t, arn)| serde_json::json!({"ARN": arn, "accountId": event.account_id, "type": t}))
        .collect();
    let record = serde_json::json!({
        "awsRegion": event.region,
        "eventCategory": "Management",
        "eventID": event_id,
        "eventName": event.event_name,
        "eventSource": event_source,
        "eventTime": event.time.to_rfc3339_opts(SecondsFormat::Secs, true),
        "eventType": "AwsServiceEvent",
        "eventVersion": "1.08",
        "managementEvent": true,
        "readOnly": false,
        "recipientAccountId": event.account_id,
        "requestParameters": null,
        "resources": resources,
        "responseElements": null,
        "serviceEventDetails": event.details,
        "sourceIPAddress": AWS_INTERNAL,
        "userAgent": AWS_INTERNAL,
        "userIdentity": {"accountId": event.account_id, "invokedBy": AWS_INTERNAL},
    });
    AuditEvent {
        event_id,
        event_time: event.time,
        account_id: event.account_id.to_owned(),
        event_name: event.event_name.to_owned(),
        event_source,
        username: None,
        access_key_id: None,
        read_only: false,
        resources: event.resources,
        record,
    }
}

/// A JSON object written key by key, in the order given (the caller keeps it sorted).
struct Record {
    out: Vec<u8>,
    first: bool,
}

impl Record {
    fn new() -> Self {
        let mut out = Vec::with_capacity(1024);
        out.push(b'{');
        Record { out, first: true }
    }

    /// Starts the member `key`: one of the record's own key names, which need no escaping
    /// (written as they are, without the escape check a value gets).
    fn key(&mut self, key: &'static str) -> &mut Self {
        debug_assert!(
            !key.bytes().any(|b| b < 0x20 || b == b'"' || b == b'\\'),
            "{key} needs escaping"
        );
        if !self.first {
            self.out.push(b',');
        }
        self.first = false;
        self.out.push(b'"');
        self.out.extend_from_slice(key.as_bytes());
        self.out.extend_from_slice(b"\":");
        self
    }

    fn string(&mut self, s: &str) -> &mut Self {
        write_json_string(&mut self.out, s);
        self
    }

    fn raw(&mut self, bytes: &[u8]) -> &mut Self {
        self.out.extend_from_slice(bytes);
        self
    }

    /// `value` (or null) in canonical form, with lower camel case keys.
    fn lower_camel(&mut self, value: Option<&Value>) {
        match value {
            Some(v) => write_lower_camel(&mut self.out, v),
            None => self.out.extend_from_slice(b"null"),
        }
    }

    fn finish(mut self) -> Vec<u8> {
        self.out.push(b'}');
        self.out
    }
}

/// CloudTrail spells request parameters in lower camel case (`userName`), where the
/// wire models use Pascal case (`UserName`). Writes `value` canonically with its keys so
/// renamed (sorted again; of two keys that become equal, the later one wins, as when
/// collecting into a map).
fn write_lower_camel(out: &mut Vec<u8>, value: &Value) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(Cow<'_, str>, &Value)> =
                map.iter().map(|(k, v)| (lower_first(k), v)).collect();
            if !entries.is_sorted_by(|a, b| a.0 < b.0) {
                // Stable: equal keys keep their order, the last one is kept below.
                entries.sort_by(|a, b| a.0.cmp(&b.0));
            }
            out.push(b'{');
            let mut first = true;
            for (i, (k, v)) in entries.iter().enumerate() {
                if entries.get(i + 1).is_some_and(|next| next.0 == *k) {
                    continue;
                }
                if !first {
                    out.push(b',');
                }
                first = false;
                write_json_string(out, k);
                out.push(b':');
                write_lower_camel(out, v);
            }
            out.push(b'}');
        }
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_lower_camel(out, item);
            }
            out.push(b']');
        }
        other => write_canonical_json(out, other),
    }
}

fn lower_first(k: &str) -> Cow<'_, str> {
    let mut chars = k.chars();
    match chars.next() {
        Some(first) if first.is_lowercase() || !first.is_alphabetic() => Cow::Borrowed(k),
        Some(first) if first.to_lowercase().eq(std::iter::once(first)) => Cow::Borrowed(k),
        Some(first) => Cow::Owned(first.to_lowercase().chain(chars).collect()),
        None => Cow::Borrowed(k),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

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

    /// Every shape of record the writer produces is canonical JSON (in debug builds
    /// `with_canonical_record` asserts it) with the fields CloudTrail gives.
    #[test]
    fn directly_written_records_are_canonical_with_every_field() {
        let mut user = Caller::root("123456789012", Some("AKIAUSER".into()));
        user.principal_type = crate::caller::PrincipalType::IamUser;
        user.user_name = Some("alice \"the\" admin".into());
        let params = json!({
            "UserName": "bob", "Tags": [{"Key": "a", "Value": "é\n"}], "path": "/",
            "Zeta": {"Inner": [1, 2.5, null, true]}, "Dup": 1, "dup": 2, "_x": "y",
        });
        for (caller, error, resources) in [
            (&user, None, vec![]),
            (
                &user,
                Some(("AccessDenied", "User: x is not authorized")),
                vec![(
                    "AWS::IAM::User".to_owned(),
                    "arn:aws:iam::123456789012:user/bob".to_owned(),
                )],
            ),
        ] {
            let prepared = prepared_event(ApiCall {
                caller,
                service: "iam",
                event_name: "TagUser",
                region: "us-east-1",
                source_ip: "127.0.0.1",
                user_agent: "Boto3/1 \u{1F600}",
                request_id: "req-2",
                read_only: error.is_some(),
                request_parameters: Some(params.clone()),
                response_elements: Some(json!({"User": {"UserName": "bob"}})),
                error,
                resources: resources.clone(),
                time: DateTime::from_timestamp(1_700_000_000, 0).unwrap(),
            });
            let r = prepared.record();
            assert_eq!(rampart_store::canonical_json(&r).as_bytes(), {
                let e = prepared.clone().into_event();
                rampart_store::canonical_json(&e.record).into_bytes()
            });
            assert_eq!(r["userIdentity"]["userName"], "alice \"the\" admin");
            assert_eq!(r["userIdentity"]["accessKeyId"], "AKIAUSER");
            assert_eq!(r["userIdentity"]["type"], "IAMUser");
            assert_eq!(r["requestParameters"]["tags"][0]["value"], "é\n");
            assert_eq!(
                r["requestParameters"]["zeta"]["inner"],
                json!([1, 2.5, null, true])
            );
            assert_eq!(r["requestParameters"]["dup"], 2, "the later key wins");
            assert_eq!(r["requestParameters"]["_x"], "y");
            assert_eq!(r["responseElements"]["user"]["userName"], "bob");
            assert_eq!(r["eventTime"], "2023-11-14T22:13:20Z");
            assert_eq!(r["readOnly"], error.is_some());
            assert_eq!(r["managementEvent"], true);
            assert_eq!(r["eventVersion"], "1.08");
            assert_eq!(r["userAgent"], "Boto3/1 \u{1F600}");
            match error {
                Some((code, message)) => {
                    assert_eq!(
                        (r["errorCode"].as_str(), r["errorMessage"].as_str()),
                        (Some(code), Some(message))
                    );
                }
                None => assert!(r.get("errorCode").is_none()),
            }
            let listed: Vec<(String, String)> = r["resources"]
                .as_array()
                .unwrap()
                .iter()
                .map(|x| {
                    (
                        x["type"].as_str().unwrap().to_owned(),
                        x["ARN"].as_str().unwrap().to_owned(),
                    )
                })
                .collect();
            assert_eq!(listed, resources);
            let e = prepared.into_event();
            assert_eq!(e.record["eventID"], e.event_id.as_str());
            assert_eq!(e.username.as_deref(), Some("alice \"the\" admin"));
        }
    }
}
