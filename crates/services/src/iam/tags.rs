//! Tags on IAM entities (users, roles, instance profiles; policies in
//! [`super::policies`]): at most 50, keys unique case-insensitively, a new value for
//! an existing key replaces the old one.

use serde::Deserialize;
use serde_json::json;

use super::entity::{self, Tagged};
use super::paging::Paging;
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::records::Tag;

/// AWS's quota of tags per IAM entity.
const TAGS_PER_ENTITY: usize = 50;

/// The entity a tag operation names.
#[derive(Deserialize)]
pub struct Named {
    #[serde(rename = "UserName", alias = "RoleName", alias = "InstanceProfileName")]
    entity: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    #[serde(flatten)]
    named: Named,
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagInput {
    #[serde(flatten)]
    named: Named,
    tag_keys: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    #[serde(flatten)]
    named: Named,
    #[serde(flatten)]
    paging: Paging,
}

pub fn tag<T: Tagged>(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut e = entity::find::<T>(&view, &call.caller.account_id, &input.named.entity)?.clone();
    merge(e.tags_mut(), input.tags)?;
    Ok(Outcome::changed(vec![entity::update(&view, &e)?]))
}

pub fn untag<T: Tagged>(call: &Call<'_>, input: UntagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut e = entity::find::<T>(&view, &call.caller.account_id, &input.named.entity)?.clone();
    remove(e.tags_mut(), &input.tag_keys);
    Ok(Outcome::changed(vec![entity::update(&view, &e)?]))
}

pub fn list<T: Tagged>(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let e = entity::find::<T>(&view, &call.caller.account_id, &input.named.entity)?;
    let page = input
        .paging
        .page(e.tags(), |t| t.key.clone(), "Tags", |t| json!(t))?;
    Ok(Outcome::output(page))
}

/// Tags given at creation: no key twice, within the quota.
pub(super) fn check_new(tags: &[Tag]) -> Result<(), ServiceError> {
    merge(&mut Vec::new(), tags.to_vec())
}

/// Adds `new` to `tags`, replacing the values of keys already there.
pub(super) fn merge(tags: &mut Vec<Tag>, new: Vec<Tag>) -> Result<(), ServiceError> {
    for (i, tag) in new.iter().enumerate() {
        if new[..i]
            .iter()
            .any(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            return Err(ServiceError::modeled(
                "InvalidInput",
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    for tag in new {
        match tags
            .iter_mut()
            .find(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            Some(existing) => *existing = tag,
            None => tags.push(tag),
        }
    }
    if tags.len() > TAGS_PER_ENTITY {
        return Err(super::limit_exceeded("TagsPerEntity", TAGS_PER_ENTITY));
    }
    Ok(())
}

/// Removes the tags with these keys (case-insensitively).
pub(super) fn remove(tags: &mut Vec<Tag>, keys: &[String]) {
    tags.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tag(k: &str, v: &str) -> Tag {
        Tag {
            key: k.to_owned(),
            value: v.to_owned(),
        }
    }

    #[test]
    fn merging_replaces_values_and_refuses_duplicates() {
        let mut tags = vec![tag("team", "a")];
        merge(&mut tags, vec![tag("Team", "b"), tag("env", "prod")]).unwrap();
        assert_eq!(tags, vec![tag("Team", "b"), tag("env", "prod")]);
        let err = merge(&mut tags, vec![tag("x", "1"), tag("X", "2")]).unwrap_err();
        assert!(matches!(err, ServiceError::Modeled { .. }));
        assert_eq!(tags.len(), 2);
        remove(&mut tags, &["TEAM".to_owned()]);
        assert_eq!(tags, vec![tag("env", "prod")]);
    }

    #[test]
    fn at_most_fifty_tags() {
        let mut tags: Vec<Tag> = (0..50).map(|i| tag(&format!("k{i}"), "v")).collect();
        assert!(merge(&mut tags, vec![tag("one-more", "v")]).is_err());
    }
}
