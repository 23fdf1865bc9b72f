//! Pagination of list operations, in the two styles AWS uses: IAM's `MaxItems` and
//! `Marker`, answered with `IsTruncated` and the next `Marker` ([`Paging`]); and the
//! JSON services' `MaxResults` and `NextToken` ([`TokenPaging`]). A marker or token is
//! the sort key of the next item, so a page boundary stays put when items are added
//! or removed before it.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::ServiceError;

/// How many items a page holds when the caller does not say.
const DEFAULT_MAX_ITEMS: usize = 100;

/// The paging members of an IAM List operation's input.
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
        let (shown, next) = slice(
            items,
            &key,
            self.marker.as_deref(),
            self.max_items,
            "Marker",
        )?;
        Ok(Paging::output(
            list_member,
            shown.iter().map(output).collect(),
            next,
        ))
    }

    /// The output members `{list_member: [...], IsTruncated, Marker}` of one page.
    pub fn output(list_member: &str, shown: Vec<Value>, next: Option<String>) -> Value {
        let mut out = json!({ list_member: shown, "IsTruncated": next.is_some() });
        if let Some(next) = next {
            out["Marker"] = json!(next);
        }
        out
    }

    /// The page of `len` items, which are sorted by `key_at(index)`, without the items
    /// themselves: the index range it covers and the next page's `Marker`, for items
    /// made only once they are shown (the policy simulator's results).
    pub fn window(
        &self,
        len: usize,
        key_at: impl Fn(usize) -> String,
    ) -> Result<(std::ops::Range<usize>, Option<String>), ServiceError> {
        window(
            len,
            &key_at,
            self.marker.as_deref(),
            self.max_items,
            "Marker",
        )
    }
}

/// The paging members of a JSON service's List operation's input.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TokenPaging {
    pub next_token: Option<String>,
    pub max_results: Option<i64>,
}

impl TokenPaging {
    /// One page of `items`, sorted by `key`, as `{list_member: [...], NextToken}`.
    pub fn page<T>(
        &self,
        items: &[T],
        key: impl Fn(&T) -> String,
        list_member: &str,
        output: impl Fn(&T) -> Value,
    ) -> Result<Value, ServiceError> {
        let (shown, next) = slice(
            items,
            &key,
            self.next_token.as_deref(),
            self.max_results,
            "NextToken",
        )?;
        let mut out = json!({ list_member: shown.iter().map(output).collect::<Vec<_>>() });
        if let Some(next) = next {
            out["NextToken"] = json!(next);
        }
        Ok(out)
    }
}

/// The items of the page that starts at `token` and holds at most `max` (default
/// 100, at most 1000), and the token of the next page if there is one.
fn slice<'i, T>(
    items: &'i [T],
    key: &impl Fn(&T) -> String,
    token: Option<&str>,
    max: Option<i64>,
    member: &str,
) -> Result<(&'i [T], Option<String>), ServiceError> {
    let (range, next) = window(items.len(), &|i| key(&items[i]), token, max, member)?;
    Ok((&items[range], next))
}

/// The index range of the page of `len` items sorted by `key_at` that starts at
/// `token` and holds at most `max` (default 100, at most 1000), and the token of the
/// next page if there is one.
fn window(
    len: usize,
    key_at: &dyn Fn(usize) -> String,
    token: Option<&str>,
    max: Option<i64>,
    member: &str,
) -> Result<(std::ops::Range<usize>, Option<String>), ServiceError> {
    let start = match token {
        None => 0,
        Some(token) => {
            let after = URL_SAFE_NO_PAD
                .decode(token)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .ok_or_else(|| {
                    ServiceError::Validation(format!("Invalid value for parameter {member}"))
                })?;
            // The first index whose key is not before `after` (keys ascend).
            let (mut low, mut high) = (0, len);
            while low < high {
                let mid = low + (high - low) / 2;
                if key_at(mid) < after {
                    low = mid + 1;
                } else {
                    high = mid;
                }
            }
            low
        }
    };
    let max = max.map_or(DEFAULT_MAX_ITEMS, |m| m.clamp(1, 1000) as usize);
    let end = start.saturating_add(max).min(len);
    let next = (end < len).then(|| URL_SAFE_NO_PAD.encode(key_at(end)));
    Ok((start..end, next))
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
    fn tokens_page_json_lists() {
        let items: Vec<String> = (0..5).map(|i| format!("a{i}")).collect();
        let paging = TokenPaging {
            next_token: None,
            max_results: Some(2),
        };
        let first = paging
            .page(&items, |s| s.clone(), "Items", |s| json!(s))
            .unwrap();
        assert_eq!(names(&first), ["a0", "a1"]);
        let next = TokenPaging {
            next_token: first["NextToken"].as_str().map(str::to_owned),
            max_results: Some(10),
        };
        let rest = next
            .page(&items, |s| s.clone(), "Items", |s| json!(s))
            .unwrap();
        assert_eq!(names(&rest), ["a2", "a3", "a4"]);
        assert!(rest.get("NextToken").is_none());
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
