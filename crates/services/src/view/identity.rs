//! The compiled form of every identity's permissions, ready for the policy engine:
//! for each user and role, one [`PolicySet`] of its identity-based policies (its own
//! inline and attached policies and, for a user, those of its groups) and its
//! permissions boundary; for each role, its trust policy.
//!
//! A change to one record recompiles only what depends on it: the entity itself, the
//! members of a changed group, the holders of a changed managed policy. Changes mark
//! holders dirty; [`IdentityCache::recompile`] rebuilds them once per batch of changes,
//! so loading the whole state compiles each identity once.
//!
//! Invariant: after `recompile`, `effective` has an entry for every user and role in
//! the view, built from the records as they are now.

use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::Arc;

use rampart_policy::{CompiledPolicy, PolicySet, PolicyType};

use crate::aws_managed;
use crate::records::{Group, ManagedPolicy, Permissions, Role, User};

/// An identity that holds policies, by its record id.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Holder {
    User(String),
    Group(String),
    Role(String),
}

/// What the policy engine needs of one user or role.
#[derive(Debug, Default)]
pub struct Authz {
    pub identity: Arc<PolicySet>,
    pub boundary: Option<Arc<PolicySet>>,
}

/// Compiled policies and the indexes that say what depends on what.
#[derive(Default)]
pub struct IdentityCache {
    /// Default versions of customer managed policies, by ARN.
    managed: HashMap<String, Arc<CompiledPolicy>>,
    /// Inline policies of each holder, compiled.
    inline: HashMap<Holder, Vec<Arc<CompiledPolicy>>>,
    /// What each holder attaches and which boundary it has, as last seen.
    links: HashMap<Holder, Links>,
    /// Managed policy ARN → holders that attach it.
    pub(crate) attached_by: HashMap<String, BTreeSet<Holder>>,
    /// Managed policy ARN → holders that use it as their permissions boundary.
    pub(crate) bounding: HashMap<String, BTreeSet<Holder>>,
    /// Group record id → member user record ids.
    pub(crate) members: HashMap<String, BTreeSet<String>>,
    /// Role record id → its trust policy.
    trust: HashMap<String, Arc<PolicySet>>,
    /// User and role record id → what authorization reads.
    effective: HashMap<Holder, Arc<Authz>>,
    dirty: HashSet<Holder>,
}

/// The references a holder makes to other records.
#[derive(Default, Clone)]
struct Links {
    attached: Vec<String>,
    boundary: Option<String>,
    /// Group record ids, for users.
    groups: Vec<String>,
}

impl IdentityCache {
    /// A user record was put (`Some`) or deleted (`None`).
    pub fn user_changed(&mut self, id: &str, user: Option<&User>) {
        let holder = Holder::User(id.to_owned());
        let links = user.map(|u| Links {
            attached: u.permissions.attached_policies.clone(),
            boundary: u.permissions_boundary.clone(),
            groups: u
                .groups
                .iter()
                .map(|g| crate::records::entity_id(&u.account_id, g))
                .collect(),
        });
        self.relink(&holder, links, user.map(|u| &u.permissions));
        self.dirty.insert(holder);
    }

    /// A group record was put or deleted.
    pub fn group_changed(&mut self, id: &str, group: Option<&Group>) {
        let holder = Holder::Group(id.to_owned());
        let links = group.map(|g| Links {
            attached: g.permissions.attached_policies.clone(),
            ..Links::default()
        });
        self.relink(&holder, links, group.map(|g| &g.permissions));
        self.dirty.insert(holder);
    }

    /// A role record was put or deleted.
    pub fn role_changed(&mut self, id: &str, role: Option<&Role>) {
        let holder = Holder::Role(id.to_owned());
        let links = role.map(|r| Links {
            attached: r.permissions.attached_policies.clone(),
            boundary: r.permissions_boundary.clone(),
            ..Links::default()
        });
        self.relink(&holder, links, role.map(|r| &r.permissions));
        match role.and_then(|r| compile(&r.assume_role_policy, PolicyType::Trust, "trust")) {
            Some(trust) => self
                .trust
                .insert(id.to_owned(), Arc::new(PolicySet::single(trust))),
            None => self.trust.remove(id),
        };
        self.dirty.insert(holder);
    }

    /// A customer managed policy was put or deleted.
    pub fn policy_changed(&mut self, arn: &str, policy: Option<&ManagedPolicy>) {
        match policy
            .and_then(|p| p.default())
            .and_then(|v| compile(&v.document, PolicyType::Identity, arn))
        {
            Some(compiled) => self.managed.insert(arn.to_owned(), compiled),
            None => self.managed.remove(arn),
        };
        let holders = self.attached_by.get(arn).into_iter().flatten();
        let bounded = self.bounding.get(arn).into_iter().flatten();
        self.dirty.extend(holders.chain(bounded).cloned());
    }

    /// Rebuilds what the changes since the last call made stale.
    pub fn recompile(&mut self) {
        let dirty = std::mem::take(&mut self.dirty);
        let mut targets = BTreeSet::new();
        for holder in dirty {
            match &holder {
                Holder::Group(id) => {
                    let members = self.members.get(id).into_iter().flatten();
                    targets.extend(members.map(|u| Holder::User(u.clone())));
                }
                _ => {
                    targets.insert(holder);
                }
            }
        }
        for holder in targets {
            match self.build(&holder) {
                Some(authz) => self.effective.insert(holder, Arc::new(authz)),
                None => self.effective.remove(&holder),
            };
        }
    }

    /// The compiled permissions of a user or role.
    pub fn authz(&self, holder: &Holder) -> Option<Arc<Authz>> {
        self.effective.get(holder).cloned()
    }

    /// The trust policy of a role.
    pub fn trust(&self, role_id: &str) -> Option<Arc<PolicySet>> {
        self.trust.get(role_id).cloned()
    }

    /// The compiled default version of a managed policy (customer or AWS-managed).
    pub fn managed(&self, arn: &str) -> Option<Arc<CompiledPolicy>> {
        self.managed
            .get(arn)
            .cloned()
            .or_else(|| aws_managed::policy(arn))
    }

    /// How many holders attach `arn`.
    pub fn attachment_count(&self, arn: &str) -> usize {
        self.attached_by.get(arn).map_or(0, BTreeSet::len)
    }

    /// How many holders use `arn` as their permissions boundary.
    pub fn boundary_count(&self, arn: &str) -> usize {
        self.bounding.get(arn).map_or(0, BTreeSet::len)
    }

    fn relink(&mut self, holder: &Holder, links: Option<Links>, permissions: Option<&Permissions>) {
        let old = self.links.remove(holder).unwrap_or_default();
        let new = links.clone().unwrap_or_default();
        unlink(&mut self.attached_by, &old.attached, holder);
        unlink(&mut self.bounding, old.boundary.as_slice(), holder);
        for arn in &new.attached {
            self.attached_by
                .entry(arn.clone())
                .or_default()
                .insert(holder.clone());
        }
        if let Some(arn) = &new.boundary {
            self.bounding
                .entry(arn.clone())
                .or_default()
                .insert(holder.clone());
        }
        if let Holder::User(user) = holder {
            for group in &old.groups {
                if let Some(members) = self.members.get_mut(group) {
                    members.remove(user);
                    if members.is_empty() {
                        self.members.remove(group);
                    }
                }
            }
            for group in &new.groups {
                self.members
                    .entry(group.clone())
                    .or_default()
                    .insert(user.clone());
            }
        }
        match permissions {
            Some(p) => {
                let compiled = p
                    .inline_policies
                    .iter()
                    .filter_map(|(name, doc)| compile(doc, PolicyType::Identity, name))
                    .collect();
                self.inline.insert(holder.clone(), compiled);
            }
            None => {
                self.inline.remove(holder);
            }
        }
        if links.is_some() {
            self.links.insert(holder.clone(), new);
        }
    }

    /// The effective permissions of a user or role, `None` if it no longer exists.
    fn build(&self, holder: &Holder) -> Option<Authz> {
        let links = self.links.get(holder)?;
        let mut policies: Vec<Arc<CompiledPolicy>> = Vec::new();
        let mut add = |holder: &Holder, links: &Links| {
            policies.extend(self.inline.get(holder).into_iter().flatten().cloned());
            policies.extend(links.attached.iter().filter_map(|arn| self.managed(arn)));
        };
        add(holder, links);
        for group in &links.groups {
            let group = Holder::Group(group.clone());
            if let Some(group_links) = self.links.get(&group) {
                add(&group, group_links);
            }
        }
        let boundary = links.boundary.as_ref().map(|arn| {
            // A boundary whose policy is gone allows nothing, as AWS evaluates it.
            Arc::new(PolicySet::new(self.managed(arn).into_iter().collect()))
        });
        Some(Authz {
            identity: Arc::new(PolicySet::new(policies)),
            boundary,
        })
    }
}

fn unlink(index: &mut HashMap<String, BTreeSet<Holder>>, arns: &[String], holder: &Holder) {
    for arn in arns {
        if let Some(holders) = index.get_mut(arn) {
            holders.remove(holder);
            if holders.is_empty() {
                index.remove(arn);
            }
        }
    }
}

/// Compiles a stored document. Documents were validated when they were stored, so a
/// failure means the store holds something this build cannot read: it is logged and
/// the policy grants nothing.
fn compile(document: &str, ty: PolicyType, id: &str) -> Option<Arc<CompiledPolicy>> {
    match CompiledPolicy::parse(document, ty, id) {
        Ok(policy) => Some(Arc::new(policy)),
        Err(error) => {
            tracing::error!(%error, policy = id, "stored policy does not compile; it grants nothing");
            None
        }
    }
}
