//! Organizations in memory: organizations, OUs, policies, account requests and
//! handshakes, and for every account in an organization its compiled guardrails: the
//! SCP chain (every level from the root through each OU to the account must allow)
//! and the RCP chain, as the policy engine takes them.
//!
//! Organizations are small and change rarely, so any change to one (or to an
//! account's membership) recompiles every account's guardrails once per batch.

use std::collections::HashMap;
use std::sync::Arc;

use rampart_policy::{CompiledPolicy, PolicySet, PolicyType};

use crate::records::{
    Account, CreateAccountRequest, Handshake, OrgPolicy, Organization, OrganizationalUnit,
};

/// The policy type names Organizations uses.
pub const SCP: &str = "SERVICE_CONTROL_POLICY";
pub const RCP: &str = "RESOURCE_CONTROL_POLICY";

/// The AWS-managed policies every organization has, attached by default when their
/// type is enabled: `(id, name, type, description, content)`.
pub const AWS_POLICIES: &[(&str, &str, &str, &str, &str)] = &[
    (
        "p-FullAWSAccess",
        "FullAWSAccess",
        SCP,
        "Allows access to every operation",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}"#,
    ),
    (
        "p-RCPFullAWSAccess",
        "RCPFullAWSAccess",
        RCP,
        "Allows access to every resource",
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":"*","Action":"*","Resource":"*"}]}"#,
    ),
];

/// What an organization imposes on one account.
#[derive(Debug, Default)]
pub struct Guardrails {
    pub organization_id: String,
    pub is_management: bool,
    /// SCP levels: root, each OU from the top, the account (empty when SCPs are not
    /// enabled).
    pub scps: Vec<PolicySet>,
    /// RCP levels, likewise.
    pub rcps: Vec<PolicySet>,
    /// `o-…/r-…/ou-…/`: the account's path, for `aws:PrincipalOrgPaths`.
    pub path: String,
}

/// Every Organizations record, and the guardrails compiled from them.
#[derive(Default)]
pub struct OrgView {
    pub organizations: HashMap<String, Organization>,
    pub units: HashMap<String, OrganizationalUnit>,
    pub policies: HashMap<String, OrgPolicy>,
    pub create_requests: HashMap<String, CreateAccountRequest>,
    pub handshakes: HashMap<String, Handshake>,
    guardrails: HashMap<String, Arc<Guardrails>>,
    /// Something changed since the last [`OrgView::recompile`].
    pub(super) dirty: bool,
}

impl OrgView {
    /// The guardrails of an account, if it is in an organization.
    pub fn guardrails(&self, account_id: &str) -> Option<Arc<Guardrails>> {
        self.guardrails.get(account_id).cloned()
    }

    /// The organization `account` belongs to.
    pub fn organization_of(&self, account: &Account) -> Option<&Organization> {
        let membership = account.membership.as_ref()?;
        self.organizations.get(&membership.organization_id)
    }

    /// The content of a policy (customer or AWS-managed), with its type.
    pub fn policy_content(&self, id: &str) -> Option<(&str, &str)> {
        match self.policies.get(id) {
            Some(p) => Some((p.policy_type.as_str(), p.content.as_str())),
            None => AWS_POLICIES.iter().find(|p| p.0 == id).map(|p| (p.2, p.4)),
        }
    }

    /// The parent chain of a root, OU or account parent id, from the root down:
    /// `[r-…, ou-top, …, ou-parent]`.
    pub fn ancestry(&self, parent_id: &str) -> Vec<String> {
        let mut chain = vec![parent_id.to_owned()];
        let mut current = parent_id;
        // An OU tree is at most five deep; the bound guards against a corrupt cycle.
        while let Some(ou) = self.units.get(current) {
            if chain.len() > 16 {
                break;
            }
            chain.push(ou.parent_id.clone());
            current = &ou.parent_id;
        }
        chain.reverse();
        chain
    }

    /// Rebuilds every account's guardrails if anything changed.
    pub(super) fn recompile(&mut self, accounts: &HashMap<String, Account>) {
        if !std::mem::take(&mut self.dirty) {
            return;
        }
        let mut compiled: HashMap<&str, Option<Arc<CompiledPolicy>>> = HashMap::new();
        let mut guardrails = HashMap::new();
        for account in accounts.values() {
            let Some(membership) = &account.membership else {
                continue;
            };
            let Some(org) = self.organizations.get(&membership.organization_id) else {
                continue;
            };
            let ancestry = self.ancestry(&membership.parent_id);
            let attached_at = |level: &str| -> &[String] {
                if level == org.root_id {
                    &org.root_policies
                } else {
                    self.units
                        .get(level)
                        .map_or(&[][..], |u| u.policies.as_slice())
                }
            };
            let mut levels: Vec<&[String]> = ancestry.iter().map(|l| attached_at(l)).collect();
            levels.push(&membership.policies);
            let mut chain = |policy_type: &str| -> Vec<PolicySet> {
                if !org.enabled_policy_types.iter().any(|t| t == policy_type) {
                    return Vec::new();
                }
                levels
                    .iter()
                    .map(|ids| {
                        let policies = ids
                            .iter()
                            .filter_map(|id| {
                                compiled
                                    .entry(id.as_str())
                                    .or_insert_with(|| self.compile(id))
                                    .clone()
                            })
                            .filter(|p| p.policy_type() == engine_type(policy_type))
                            .collect();
                        PolicySet::new(policies)
                    })
                    .collect()
            };
            let scps = chain(SCP);
            let rcps = chain(RCP);
            let mut path = format!("{}/", org.id);
            for level in &ancestry {
                path.push_str(level);
                path.push('/');
            }
            guardrails.insert(
                account.account_id.clone(),
                Arc::new(Guardrails {
                    organization_id: org.id.clone(),
                    is_management: org.management_account_id == account.account_id,
                    scps,
                    rcps,
                    path,
                }),
            );
        }
        self.guardrails = guardrails;
    }

    /// Compiles an SCP or RCP; other types (tag policies, …) are not evaluated.
    fn compile(&self, id: &str) -> Option<Arc<CompiledPolicy>> {
        let (policy_type, content) = self.policy_content(id)?;
        let ty = match policy_type {
            SCP => PolicyType::Scp,
            RCP => PolicyType::Rcp,
            _ => return None,
        };
        match CompiledPolicy::parse(content, ty, id) {
            Ok(p) => Some(Arc::new(p)),
            Err(error) => {
                tracing::error!(%error, policy = id, "stored organization policy does not compile");
                None
            }
        }
    }
}

fn engine_type(policy_type: &str) -> PolicyType {
    if policy_type == RCP {
        PolicyType::Rcp
    } else {
        PolicyType::Scp
    }
}
