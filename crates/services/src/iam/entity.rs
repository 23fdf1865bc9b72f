//! What IAM's named entities (users, groups, roles, instance profiles) have in
//! common, so that the operations that are the same for each of them (find, store,
//! inline and attached policies, tags) are written once.

use std::collections::HashMap;

use rampart_store::{Expect, Mutation};
use serde::Serialize;
use serde_json::{Value, json};

use crate::call::to_canonical;
use crate::error::ServiceError;
use crate::records::{self, Group, InstanceProfile, Permissions, Role, Tag, User};
use crate::view::View;

/// A named IAM entity stored as one record.
pub(crate) trait Entity: Clone + Serialize {
    /// Record kind.
    const KIND: &'static str;
    /// How AWS's messages name this kind ("user", "group", "role").
    const NOUN: &'static str;
    /// The record map of this kind in the view.
    fn all(view: &View) -> &HashMap<String, Self>;
    fn name(&self) -> &str;
    fn account(&self) -> &str;
    fn path(&self) -> &str;
    /// The message of NoSuchEntity for `name`.
    fn missing(name: &str) -> String {
        format!("The {} with name {name} cannot be found.", Self::NOUN)
    }
    /// The record id.
    fn id(&self) -> String {
        records::entity_id(self.account(), self.name())
    }
}

/// An entity that holds inline and managed policies.
pub(crate) trait Holder: Entity {
    /// The quota on the summed size of its inline policies.
    const INLINE_QUOTA: usize;
    /// The quota on attached managed policies, and its name in AWS's message.
    const ATTACHED_QUOTA: (&'static str, usize);
    fn permissions(&self) -> &Permissions;
    fn permissions_mut(&mut self) -> &mut Permissions;
}

/// An entity with tags.
pub(crate) trait Tagged: Entity {
    fn tags(&self) -> &[Tag];
    fn tags_mut(&mut self) -> &mut Vec<Tag>;
}

/// An entity that can have a permissions boundary.
pub(crate) trait Bounded: Entity {
    fn boundary_mut(&mut self) -> &mut Option<String>;
}

/// The entity `name` of `account`, or NoSuchEntity.
pub(crate) fn find<'v, T: Entity>(
    view: &'v View,
    account: &str,
    name: &str,
) -> Result<&'v T, ServiceError> {
    T::all(view)
        .get(&records::entity_id(account, name))
        .ok_or_else(|| super::no_such_entity(T::missing(name)))
}

/// The mutation that stores `entity`.
pub(crate) fn put<T: Entity>(entity: &T, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: T::KIND.to_owned(),
        id: entity.id(),
        value: to_canonical(entity)?,
        expect,
    })
}

/// The mutation that writes back `entity`, read from `view` and changed: committed only
/// if the stored record is still the one the view holds (a lost race makes the call
/// run again on the newer record instead of overwriting it).
pub(crate) fn update<T: Entity>(view: &View, entity: &T) -> Result<Mutation, ServiceError> {
    put(entity, view.expect_current(T::KIND, &entity.id()))
}

/// The mutation that removes `entity`, read from `view`: only as the view holds it (a
/// change made since, such as a policy attached, may be what forbids the deletion, and
/// the call runs again to see it).
pub(crate) fn remove<T: Entity>(view: &View, entity: &T) -> Mutation {
    let id = entity.id();
    Mutation::Delete {
        kind: T::KIND.to_owned(),
        expect: view.expect_current(T::KIND, &id),
        id,
    }
}

/// The entities of `account` whose path starts with `prefix`, by name.
pub(crate) fn listed<'v, T: Entity>(
    view: &'v View,
    account: &str,
    prefix: Option<&str>,
) -> Vec<&'v T> {
    let prefix = prefix.unwrap_or("/");
    let mut all: Vec<&T> = T::all(view)
        .values()
        .filter(|e| e.account() == account && e.path().starts_with(prefix))
        .collect();
    all.sort_by_cached_key(|e| e.name().to_ascii_lowercase());
    all
}

/// A List operation over one kind of entity: the caller's account's entities whose
/// path starts with `prefix`, by name, one page of them as `list_member`.
pub(crate) fn list<T: Entity>(
    call: &crate::call::Call<'_>,
    prefix: Option<&str>,
    paging: &super::paging::Paging,
    list_member: &str,
    output: impl Fn(&T) -> Value,
) -> Result<crate::call::Outcome, ServiceError> {
    let view = call.plane.view();
    let entities = listed::<T>(&view, &call.caller.account_id, prefix);
    let page = paging.page(
        &entities,
        |e| e.name().to_ascii_lowercase(),
        list_member,
        |e| output(e),
    )?;
    Ok(crate::call::Outcome::output(page))
}

/// The `PermissionsBoundary` member of a user or role output.
pub(crate) fn boundary_output(boundary: Option<&String>) -> Option<Value> {
    boundary.map(|arn| json!({"PermissionsBoundaryType": "PermissionsBoundaryPolicy", "PermissionsBoundaryArn": arn}))
}

/// The output shape of a user.
pub(crate) fn user_output(user: &User) -> Value {
    let mut out = json!({
        "Path": user.path, "UserName": user.user_name, "UserId": user.user_id,
        "Arn": user.arn(), "CreateDate": user.created,
    });
    if let Some(b) = boundary_output(user.permissions_boundary.as_ref()) {
        out["PermissionsBoundary"] = b;
    }
    if !user.tags.is_empty() {
        out["Tags"] = json!(user.tags);
    }
    out
}

/// The output shape of a group.
pub(crate) fn group_output(group: &Group) -> Value {
    json!({
        "Path": group.path, "GroupName": group.group_name, "GroupId": group.group_id,
        "Arn": group.arn(), "CreateDate": group.created,
    })
}

/// The output shape of a role (trust policy URL-encoded, as IAM returns documents).
pub(crate) fn role_output(role: &Role) -> Value {
    let mut out = json!({
        "Path": role.path, "RoleName": role.role_name, "RoleId": role.role_id,
        "Arn": role.arn(), "CreateDate": role.created,
        "AssumeRolePolicyDocument": super::encode_document(&role.assume_role_policy),
        "MaxSessionDuration": role.max_session_duration,
    });
    if let Some(description) = &role.description {
        out["Description"] = json!(description);
    }
    if let Some(b) = boundary_output(role.permissions_boundary.as_ref()) {
        out["PermissionsBoundary"] = b;
    }
    if !role.tags.is_empty() {
        out["Tags"] = json!(role.tags);
    }
    out["RoleLastUsed"] = match &role.last_used {
        Some((at, region)) => json!({"LastUsedDate": at, "Region": region}),
        None => json!({}),
    };
    out
}

/// The output shape of an instance profile, with its roles.
pub(crate) fn instance_profile_output(view: &View, profile: &InstanceProfile) -> Value {
    let roles: Vec<Value> = profile
        .roles
        .iter()
        .filter_map(|name| view.role(&profile.account_id, name))
        .map(role_output)
        .collect();
    let mut out = json!({
        "Path": profile.path, "InstanceProfileName": profile.instance_profile_name,
        "InstanceProfileId": profile.instance_profile_id, "Arn": profile.arn(),
        "CreateDate": profile.created, "Roles": roles,
    });
    if !profile.tags.is_empty() {
        out["Tags"] = json!(profile.tags);
    }
    out
}

impl Entity for User {
    const KIND: &'static str = records::IAM_USER;
    const NOUN: &'static str = "user";
    fn all(view: &View) -> &HashMap<String, Self> {
        &view.users
    }
    fn name(&self) -> &str {
        &self.user_name
    }
    fn account(&self) -> &str {
        &self.account_id
    }
    fn path(&self) -> &str {
        &self.path
    }
}

impl Holder for User {
    const INLINE_QUOTA: usize = 2048;
    const ATTACHED_QUOTA: (&'static str, usize) = ("PoliciesPerUser", 10);
    fn permissions(&self) -> &Permissions {
        &self.permissions
    }
    fn permissions_mut(&mut self) -> &mut Permissions {
        &mut self.permissions
    }
}

impl Tagged for User {
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

impl Bounded for User {
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.permissions_boundary
    }
}

impl Entity for Group {
    const KIND: &'static str = records::IAM_GROUP;
    const NOUN: &'static str = "group";
    fn all(view: &View) -> &HashMap<String, Self> {
        &view.groups
    }
    fn name(&self) -> &str {
        &self.group_name
    }
    fn account(&self) -> &str {
        &self.account_id
    }
    fn path(&self) -> &str {
        &self.path
    }
}

impl Holder for Group {
    const INLINE_QUOTA: usize = 5120;
    const ATTACHED_QUOTA: (&'static str, usize) = ("PoliciesPerGroup", 10);
    fn permissions(&self) -> &Permissions {
        &self.permissions
    }
    fn permissions_mut(&mut self) -> &mut Permissions {
        &mut self.permissions
    }
}

impl Entity for Role {
    const KIND: &'static str = records::IAM_ROLE;
    const NOUN: &'static str = "role";
    fn all(view: &View) -> &HashMap<String, Self> {
        &view.roles
    }
    fn name(&self) -> &str {
        &self.role_name
    }
    fn account(&self) -> &str {
        &self.account_id
    }
    fn path(&self) -> &str {
        &self.path
    }
}

impl Holder for Role {
    const INLINE_QUOTA: usize = 10240;
    const ATTACHED_QUOTA: (&'static str, usize) = ("PoliciesPerRole", 10);
    fn permissions(&self) -> &Permissions {
        &self.permissions
    }
    fn permissions_mut(&mut self) -> &mut Permissions {
        &mut self.permissions
    }
}

impl Tagged for Role {
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}

impl Bounded for Role {
    fn boundary_mut(&mut self) -> &mut Option<String> {
        &mut self.permissions_boundary
    }
}

impl Entity for InstanceProfile {
    const KIND: &'static str = records::IAM_INSTANCE_PROFILE;
    const NOUN: &'static str = "instance profile";
    fn all(view: &View) -> &HashMap<String, Self> {
        &view.instance_profiles
    }
    fn name(&self) -> &str {
        &self.instance_profile_name
    }
    fn account(&self) -> &str {
        &self.account_id
    }
    fn path(&self) -> &str {
        &self.path
    }
    fn missing(name: &str) -> String {
        format!("Instance Profile {name} cannot be found.")
    }
}

impl Tagged for InstanceProfile {
    fn tags(&self) -> &[Tag] {
        &self.tags
    }
    fn tags_mut(&mut self) -> &mut Vec<Tag> {
        &mut self.tags
    }
}
