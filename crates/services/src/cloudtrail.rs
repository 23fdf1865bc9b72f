//! AWS CloudTrail's event history: `LookupEvents` over the audit trail every call
//! writes, for the caller's account.

use crate::error::ServiceError;
use chrono::{DateTime, Utc};
use rampart_store::{AuditQuery, LookupAttribute, StoreError};
use serde::{Deserialize, Serialize};

use crate::call::{Call, Outcome, from_canonical};

/// The CloudTrail operations rampart serves.
pub async fn handle(
    operation: &str,
    call: &Call<'_>,
    input: serde_json::Value,
) -> Result<Outcome, ServiceError> {
    match operation {
        "LookupEvents" => lookup_events(call, from_canonical(input)?).await,
        _ => Err(ServiceError::not_implemented("cloudtrail", operation)),
    }
}

/// LookupEvents returns this many events a page unless asked for fewer.
const MAX_RESULTS: i64 = 50;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsInput {
    #[serde(default)]
    lookup_attributes: Vec<LookupAttributeInput>,
    start_time: Option<f64>,
    end_time: Option<f64>,
    event_category: Option<String>,
    max_results: Option<i64>,
    next_token: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct LookupAttributeInput {
    attribute_key: String,
    attribute_value: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LookupEventsOutput {
    events: Vec<Event>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_token: Option<String>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Event {
    event_id: String,
    event_name: String,
    read_only: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    access_key_id: Option<String>,
    event_time: i64,
    event_source: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    username: Option<String>,
    resources: Vec<Resource>,
    cloud_trail_event: String,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct Resource {
    resource_type: String,
    resource_name: String,
}

async fn lookup_events(call: &Call<'_>, input: LookupEventsInput) -> Result<Outcome, ServiceError> {
    let lookup = match input.lookup_attributes.as_slice() {
        [] => None,
        [one] => Some((
            lookup_attribute(&one.attribute_key)?,
            one.attribute_value.clone(),
        )),
        _ => {
            return Err(ServiceError::modeled(
                "InvalidLookupAttributesException",
                "You cannot specify more than one lookup attribute.",
            ));
        }
    };
    if let Some(category) = input.event_category.as_deref().filter(|c| *c != "insight") {
        return Err(ServiceError::modeled(
            "InvalidEventCategoryException",
            format!("Event category {category} is not valid."),
        ));
    }
    // The model bounds MaxResults to 1..=50; the protocol layer has checked it.
    let max_results = input.max_results.unwrap_or(MAX_RESULTS);
    let start = input.start_time.map(timestamp).transpose()?;
    let end = input.end_time.map(timestamp).transpose()?;
    if let (Some(start), Some(end)) = (start, end)
        && start > end
    {
        return Err(ServiceError::modeled(
            "InvalidTimeRangeException",
            "Start time must be before end time.",
        ));
    }
    let page = call
        .plane
        .store()
        .lookup_audit(AuditQuery {
            account_id: call.caller.account_id.clone(),
            lookup,
            start,
            end,
            max_results: max_results as usize,
            next_token: input.next_token,
        })
        .await
        .map_err(|e| match e {
            StoreError::InvalidToken => {
                ServiceError::modeled("InvalidNextTokenException", "Invalid NextToken.")
            }
            other => ServiceError::Internal(other.to_string()),
        })?;
    let events = page
        .events
        .into_iter()
        .map(|stored| {
            let e = stored.event;
            Event {
                cloud_trail_event: e.record.to_string(),
                event_id: e.event_id,
                event_name: e.event_name,
                read_only: e.read_only.to_string(),
                access_key_id: e.access_key_id,
                event_time: e.event_time.timestamp(),
                event_source: e.event_source,
                username: e.username,
                resources: e
                    .resources
                    .into_iter()
                    .map(|(resource_type, resource_name)| Resource {
                        resource_type,
                        resource_name,
                    })
                    .collect(),
            }
        })
        .collect();
    Outcome::read(&LookupEventsOutput {
        events,
        next_token: page.next_token,
    })
}

fn lookup_attribute(key: &str) -> Result<LookupAttribute, ServiceError> {
    Ok(match key {
        "EventId" => LookupAttribute::EventId,
        "EventName" => LookupAttribute::EventName,
        "ReadOnly" => LookupAttribute::ReadOnly,
        "Username" => LookupAttribute::Username,
        "ResourceType" => LookupAttribute::ResourceType,
        "ResourceName" => LookupAttribute::ResourceName,
        "EventSource" => LookupAttribute::EventSource,
        "AccessKeyId" => LookupAttribute::AccessKeyId,
        other => {
            return Err(ServiceError::modeled(
                "InvalidLookupAttributesException",
                format!("{other} is not a valid lookup attribute key."),
            ));
        }
    })
}

/// A StartTime or EndTime (epoch seconds, fractional from SDKs that send milliseconds)
/// to the microsecond, the precision events are recorded at.
fn timestamp(seconds: f64) -> Result<DateTime<Utc>, ServiceError> {
    DateTime::from_timestamp_micros((seconds * 1e6).round() as i64)
        .ok_or_else(|| ServiceError::modeled("InvalidTimeRangeException", "Time is out of range."))
}

#[cfg(test)]
mod tests {
    use super::timestamp;

    #[test]
    fn time_bounds_keep_their_fraction() {
        let t = timestamp(1_796_487_768.123).unwrap();
        assert_eq!(t.timestamp_micros(), 1_796_487_768_123_000);
        assert!(timestamp(f64::MAX).is_err());
    }
}
