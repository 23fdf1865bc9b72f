//! IAM's pagination: `MaxItems` (default 100) and an opaque `Marker`, answered with
//! `IsTruncated` and the `Marker` of the next page. A marker is the sort key of the
//! next item, so a page boundary stays put when entities are added or removed
//! before it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ServiceError;

/// How many items a page holds when the caller does not say.
const DEFAULT_MAX_ITEMS: usize = 100;

/// The paging members of a List operation's input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Paging {
    pub marker: Option<String>,
    pub max_items: Option<i64>,
}

impl Paging {
    /// One page of `items`, which are sorted by `key`, as the output members
    /// `{list_member: [...], IsTruncated, Marker}`.
    pub fn page<T>(
        &self,
        items: &[T],
        key: impl Fn(&T) -> String,
        list_member: &str,
        output: impl Fn(&T) -> Value,
    ) -> Result<Value, ServiceError> {
        let start = match &self.marker {
            None => 0,
            Some(marker) => {
                let after = URL_SAFE_NO_PAD
                    .decode(marker)
                    .ok()
                    .and_then(|b| String::from_utf8(b).ok())
                    .ok_or_else(|| {
                        ServiceError::Validation("Invalid value for parameter Marker".to_owned())
                    })?;
                items.partition_point(|item| key(item) < after)
            }
        };
        let max = self
            .max_items
            .map_or(DEFAULT_MAX_ITEMS, |m| m.clamp(1, 1000) as usize);
        let end = start.saturating_add(max).min(items.len());
        let shown: Vec<Value> = items[start..end].iter().map(output).collect();
        let mut out = json!({ list_member: shown, "IsTruncated": end < items.len() });
        if let Some(next) = items.get(end) {
            out["Marker"] = json!(URL_SAFE_NO_PAD.encode(key(next)));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(v: &Value) -> Vec<&str> {
        v["Items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect()
    }

    #[test]
    fn pages_follow_markers_to_the_end() {
        let items: Vec<String> = (0..7).map(|i| format!("u{i}")).collect();
        let mut paging = Paging {
            marker: None,
            max_items: Some(3),
        };
        let mut seen = Vec::new();
        loop {
            let page = paging
                .page(&items, |s| s.clone(), "Items", |s| json!(s))
                .unwrap();
            seen.extend(names(&page).into_iter().map(str::to_owned));
            if page["IsTruncated"] == json!(false) {
                assert!(page.get("Marker").is_none());
                break;
            }
            paging.marker = page["Marker"].as_str().map(str::to_owned);
        }
        assert_eq!(seen, items);
    }

    #[test]
    fn a_marker_that_is_not_ours_is_a_validation_error() {
        let paging = Paging {
            marker: Some("!!!".to_owned()),
            max_items: None,
        };
        let err = paging
            .page(&["a".to_owned()], |s| s.clone(), "Items", |s| json!(s))
            .unwrap_err();
        assert!(matches!(err, ServiceError::Validation(_)));
    }
}
