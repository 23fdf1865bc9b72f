//! The in-memory view of the store that every request reads: accounts, IAM entities,
//! access keys and STS sessions, kept current by applying the store's changes in
//! sequence order, and the compiled policies authorization needs ([`identity`]).
//! Requests never read storage for identity data; they read this.

pub mod identity;
pub mod kms;
pub mod organizations;

use std::collections::HashMap;
use std::sync::Arc;

use rampart_policy::{CompiledPolicy, PolicySet, PolicyType};
use rampart_store::{Change, MasterKey, Record};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::caller::{Caller, Credentials, SessionContext};
use crate::records::{
    self, AccessKey, Account, Group, InstanceProfile, KeyStatus, ManagedPolicy, Role, Session,
    SessionPrincipal, User,
};
pub use identity::{Authz, Holder, IdentityCache};
pub use organizations::{Guardrails, OrgView};

/// An access key with its secret opened, ready for signature checks.
pub struct KeyEntry {
    pub key: AccessKey,
    pub secret: Zeroizing<String>,
}

/// STS temporary credentials with their secret opened and their session policies
/// compiled (once the view has finished applying the batch that brought them).
pub struct SessionEntry {
    pub session: Session,
    pub secret: Zeroizing<String>,
    pub context: Option<Arc<SessionContext>>,
}

/// A virtual MFA device with its seed opened. Accepting a code advances the device's
/// replay guard, written back over the version read ([`View::write_back`]): two
/// requests racing with one code cannot both succeed.
pub struct MfaEntry {
    pub device: records::MfaDevice,
    pub seed: Zeroizing<Vec<u8>>,
}

/// Every record the control plane serves from memory, by record id.
#[derive(Default)]
pub struct View {
    /// The sequence number of the last change applied.
    pub seq: i64,
    pub accounts: HashMap<String, Account>,
    pub users: HashMap<String, User>,
    pub groups: HashMap<String, Group>,
    pub roles: HashMap<String, Role>,
    /// Customer managed policies, by record id.
    pub policies: HashMap<String, ManagedPolicy>,
    pub instance_profiles: HashMap<String, InstanceProfile>,
    pub access_keys: HashMap<String, KeyEntry>,
    pub sessions: HashMap<String, SessionEntry>,
    /// Virtual MFA devices with their seeds opened, by record id.
    pub mfa_devices: HashMap<String, MfaEntry>,
    /// Users' console passwords (hashes), by record id.
    pub login_profiles: HashMap<String, records::LoginProfile>,
    /// Account password policies, by account id.
    pub password_policies: HashMap<String, records::PasswordPolicy>,
    /// Account aliases, by alias.
    pub account_aliases: HashMap<String, records::AccountAlias>,
    /// OpenID Connect identity providers, by record id.
    pub oidc_providers: HashMap<String, records::OidcProvider>,
    /// SAML identity providers, by record id.
    pub saml_providers: HashMap<String, records::SamlProvider>,
    /// The last credential report of each account, by account id.
    pub credential_reports: HashMap<String, records::CredentialReport>,
    /// Service last accessed reports, by job id.
    pub access_details_jobs: HashMap<String, records::AccessDetailsJob>,
    /// Organizations and the guardrails they put on their accounts.
    pub org: OrgView,
    /// Compiled policies and who holds what.
    pub identity: IdentityCache,
    /// KMS keys (material opened, key policies compiled), aliases and grants.
    pub kms: kms::KmsView,
    /// The stored version of every record above, by kind and id ([`View::version`]).
    versions: HashMap<String, HashMap<String, i64>>,
}

/// A record that could not be turned into its entity: the store holds something this
/// version of rampart does not understand.
#[derive(Debug, thiserror::Error)]
#[error("stored {kind} record {id} is unreadable: {reason}")]
pub struct BadRecord {
    pub kind: String,
    pub id: String,
    pub reason: String,
}

impl View {
    /// Builds the view from every stored record.
    pub fn from_records(
        records: Vec<Record>,
        seq: i64,
        master_key: &MasterKey,
    ) -> Result<View, BadRecord> {
        let mut view = View {
            seq,
            ..View::default()
        };
        for record in records {
            if view.put(&record.kind, &record.id, Some(record.value), master_key)? {
                view.note_version(&record.kind, &record.id, Some(record.version));
            }
        }
        view.finish();
        Ok(view)
    }

    /// Applies changes from the feed, in order, then recompiles what they touched.
    pub fn apply(
        &mut self,
        changes: impl IntoIterator<Item = Change>,
        master_key: &MasterKey,
    ) -> Result<(), BadRecord> {
        let mut result = Ok(());
        for change in changes {
            self.seq = change.seq;
            let version = change.record.as_ref().map(|r| r.version);
            let value = change.record.map(|r| r.value);
            match self.put(&change.kind, &change.id, value, master_key) {
                Ok(true) => self.note_version(&change.kind, &change.id, version),
                Ok(false) => {}
                Err(error) => {
                    result = Err(error);
                    break;
                }
            }
        }
        self.finish();
        result
    }

    /// Compiles what the records put since the last call need: identities' policy
    /// sets, organizations' guardrails, then the session policies of new sessions
    /// (which may name managed policies that came in the same batch).
    fn finish(&mut self) {
        self.identity.recompile();
        self.org.recompile(&self.accounts);
        let identity = &self.identity;
        for entry in self.sessions.values_mut().filter(|e| e.context.is_none()) {
            let policies = session_policies(identity, &entry.session);
            entry.context = Some(Arc::new(SessionContext::of(&entry.session, policies)));
        }
    }

    fn put(
        &mut self,
        kind: &str,
        id: &str,
        value: Option<serde_json::Value>,
        master_key: &MasterKey,
    ) -> Result<bool, BadRecord> {
        match kind {
            records::ACCOUNT => {
                upsert(&mut self.accounts, kind, id, value)?;
                self.org.dirty = true;
            }
            records::ORGANIZATION => {
                upsert(&mut self.org.organizations, kind, id, value)?;
                self.org.dirty = true;
            }
            records::ORG_UNIT => {
                upsert(&mut self.org.units, kind, id, value)?;
                self.org.dirty = true;
            }
            records::ORG_POLICY => {
                upsert(&mut self.org.policies, kind, id, value)?;
                self.org.dirty = true;
            }
            records::ORG_CREATE_ACCOUNT => upsert(&mut self.org.create_requests, kind, id, value)?,
            records::ORG_HANDSHAKE => upsert(&mut self.org.handshakes, kind, id, value)?,
            records::IAM_USER => {
                upsert(&mut self.users, kind, id, value)?;
                self.identity.user_changed(id, self.users.get(id));
            }
            records::IAM_GROUP => {
                upsert(&mut self.groups, kind, id, value)?;
                self.identity.group_changed(id, self.groups.get(id));
            }
            records::IAM_ROLE => {
                upsert(&mut self.roles, kind, id, value)?;
                self.identity.role_changed(id, self.roles.get(id));
            }
            records::IAM_POLICY => {
                let old_arn = self.policies.get(id).map(ManagedPolicy::arn);
                upsert(&mut self.policies, kind, id, value)?;
                let policy = self.policies.get(id);
                let arn = policy.map(ManagedPolicy::arn).or(old_arn);
                if let Some(arn) = arn {
                    self.identity.policy_changed(&arn, policy);
                }
            }
            records::IAM_INSTANCE_PROFILE => upsert(&mut self.instance_profiles, kind, id, value)?,
            records::IAM_OIDC_PROVIDER => upsert(&mut self.oidc_providers, kind, id, value)?,
            records::IAM_SAML_PROVIDER => upsert(&mut self.saml_providers, kind, id, value)?,
            records::ACCESS_KEY => {
                self.access_keys.remove(id);
                if let Some(value) = value {
                    let key: AccessKey = decode(kind, id, value)?;
                    let secret = open_secret(&key.sealed_secret, id, master_key)
                        .map_err(|reason| bad(kind, id, reason))?;
                    self.access_keys
                        .insert(id.to_owned(), KeyEntry { key, secret });
                }
            }
            records::IAM_MFA_DEVICE => {
                self.mfa_devices.remove(id);
                if let Some(value) = value {
                    let device: records::MfaDevice = decode(kind, id, value)?;
                    let seed = open_secret(&device.sealed_seed, id, master_key)
                        .map_err(|reason| bad(kind, id, reason))?;
                    let seed = crate::iam::mfa::seed_bytes(&seed)
                        .ok_or_else(|| bad(kind, id, "seed is not base32".to_owned()))?;
                    self.mfa_devices
                        .insert(id.to_owned(), MfaEntry { device, seed });
                }
            }
            records::IAM_LOGIN_PROFILE => upsert(&mut self.login_profiles, kind, id, value)?,
            records::IAM_PASSWORD_POLICY => upsert(&mut self.password_policies, kind, id, value)?,
            records::IAM_ACCOUNT_ALIAS => upsert(&mut self.account_aliases, kind, id, value)?,
            records::IAM_CREDENTIAL_REPORT => {
                upsert(&mut self.credential_reports, kind, id, value)?
            }
            records::IAM_ACCESS_DETAILS_JOB => {
                upsert(&mut self.access_details_jobs, kind, id, value)?
            }
            records::STS_SESSION => {
                self.sessions.remove(id);
                if let Some(value) = value {
                    let session: Session = decode(kind, id, value)?;
                    let secret = open_secret(&session.sealed_secret, id, master_key)
                        .map_err(|reason| bad(kind, id, reason))?;
                    let entry = SessionEntry {
                        session,
                        secret,
                        context: None,
                    };
                    self.sessions.insert(id.to_owned(), entry);
                }
            }
            records::KMS_KEY => {
                let key = value.map(|v| decode(kind, id, v)).transpose()?;
                self.kms
                    .put_key(id, key, master_key)
                    .map_err(|reason| bad(kind, id, reason))?;
            }
            records::KMS_ALIAS => upsert(&mut self.kms.aliases, kind, id, value)?,
            records::KMS_GRANT => upsert(&mut self.kms.grants, kind, id, value)?,
            // Kinds owned by services this build does not serve are kept out of memory.
            _ => return Ok(false),
        }
        Ok(true)
    }

    /// The version the store holds of record `kind`/`id`, as of this view: what a
    /// call that read the record and writes it back insists on, so that a write made
    /// in between (by another call, or on another replica) is not lost.
    pub fn version(&self, kind: &str, id: &str) -> Option<i64> {
        self.versions.get(kind)?.get(id).copied()
    }

    /// What a write of record `kind`/`id` that was read from this view insists on: the
    /// version read (no condition for a record the view does not hold).
    pub fn expect_current(&self, kind: &str, id: &str) -> rampart_store::Expect {
        self.version(kind, id)
            .map_or(rampart_store::Expect::Any, rampart_store::Expect::Version)
    }

    /// `mutation`, a put of a record read from this view and changed, made to insist on
    /// the version read (whatever it expected before), so that a write made since is
    /// not lost.
    pub fn write_back(&self, mut mutation: rampart_store::Mutation) -> rampart_store::Mutation {
        if let rampart_store::Mutation::Put {
            kind, id, expect, ..
        } = &mut mutation
        {
            *expect = self.expect_current(kind, id);
        }
        mutation
    }

    /// Notes the stored version of a record the view holds (`None`: deleted).
    fn note_version(&mut self, kind: &str, id: &str, version: Option<i64>) {
        match (self.versions.get_mut(kind), version) {
            (Some(ids), Some(version)) => {
                ids.insert(id.to_owned(), version);
            }
            (Some(ids), None) => {
                ids.remove(id);
            }
            (None, Some(version)) => {
                let ids = HashMap::from([(id.to_owned(), version)]);
                self.versions.insert(kind.to_owned(), ids);
            }
            (None, None) => {}
        }
    }

    /// The user `name` of `account_id`.
    pub fn user(&self, account_id: &str, name: &str) -> Option<&User> {
        self.users.get(&records::entity_id(account_id, name))
    }

    /// The role `name` of `account_id`.
    pub fn role(&self, account_id: &str, name: &str) -> Option<&Role> {
        self.roles.get(&records::entity_id(account_id, name))
    }

    /// The role a role ARN names, if it exists with that path.
    pub fn role_by_arn(&self, arn: &str) -> Option<&Role> {
        let (account, resource) = arn.strip_prefix("arn:aws:iam::")?.split_once(':')?;
        let name = resource.strip_prefix("role/")?.rsplit('/').next()?;
        self.role(account, name).filter(|r| r.arn() == arn)
    }

    /// The customer managed policy with this ARN.
    pub fn policy_by_arn(&self, arn: &str) -> Option<&ManagedPolicy> {
        let (account, name) = parse_policy_arn(arn)?;
        self.policies
            .get(&records::entity_id(account, name))
            .filter(|p| p.arn() == arn)
    }

    /// The secret and principal of active credentials: an access key of a user, or
    /// STS temporary credentials (expired ones included: authentication tells them
    /// apart, to answer ExpiredToken).
    pub fn credentials(&self, access_key_id: &str) -> Option<Credentials> {
        if let Some(entry) = self.sessions.get(access_key_id) {
            return self.session_credentials(entry);
        }
        let entry = self
            .access_keys
            .get(access_key_id)
            .filter(|entry| entry.key.status == KeyStatus::Active)?;
        let key = &entry.key;
        if key.root {
            return Some(Credentials {
                secret_access_key: entry.secret.clone(),
                caller: Arc::new(Caller::root(
                    &key.account_id,
                    Some(key.access_key_id.clone()),
                )),
            });
        }
        let user = self
            .user(&key.account_id, &key.user_name)
            .filter(|u| key.user_id.as_ref().is_none_or(|id| *id == u.user_id))?;
        Some(Credentials {
            secret_access_key: entry.secret.clone(),
            caller: Arc::new(Caller::user(user, Some(key.access_key_id.clone()), None)),
        })
    }

    fn session_credentials(&self, entry: &SessionEntry) -> Option<Credentials> {
        let session = &entry.session;
        let account = &session.account_id;
        let context = entry.context.clone()?;
        let key = Some(session.access_key_id.clone());
        // The principal the session was issued for, not a namesake created since.
        let same = |unique_id: &str| {
            session
                .principal_id
                .as_deref()
                .is_none_or(|id| id == unique_id)
        };
        let caller = match &session.principal {
            SessionPrincipal::AssumedRole {
                role_name,
                session_name,
            } => {
                let role = self.role(account, role_name).filter(|r| same(&r.role_id))?;
                Caller::assumed_role(role, session_name, &session.tags, key, context)
            }
            SessionPrincipal::User { user_name: None } => {
                let mut root = Caller::root(account, key);
                root.session = Some(context);
                root
            }
            SessionPrincipal::User {
                user_name: Some(name),
            } => {
                let user = self.user(account, name).filter(|u| same(&u.user_id))?;
                Caller::user(user, key, Some(context))
            }
            SessionPrincipal::FederatedUser { user_name, name } => {
                let user = self.user(account, user_name).filter(|u| same(&u.user_id))?;
                Caller::federated(user, name, key, context)
            }
        };
        Some(Credentials {
            secret_access_key: entry.secret.clone(),
            caller: Arc::new(caller),
        })
    }
}

/// The session policies of `session` as one set: inline documents compile as session
/// policies, ARNs resolve to managed policies as they are when the session starts.
fn session_policies(identity: &IdentityCache, session: &Session) -> Option<Arc<PolicySet>> {
    if session.session_policies.is_empty() && !session.policy_required {
        return None;
    }
    let policies = session
        .session_policies
        .iter()
        .filter_map(|p| {
            if p.starts_with("arn:") {
                identity.managed(p)
            } else {
                CompiledPolicy::parse(p, PolicyType::Session, "session")
                    .map(Arc::new)
                    .ok()
            }
        })
        .collect();
    Some(Arc::new(PolicySet::new(policies)))
}

/// `(account, name)` of `arn:aws:iam::ACCOUNT:policy/PATH/NAME`.
pub fn parse_policy_arn(arn: &str) -> Option<(&str, &str)> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let (account, resource) = rest.split_once(':')?;
    let path_and_name = resource.strip_prefix("policy/")?;
    let name = path_and_name.rsplit('/').next()?;
    (!name.is_empty()).then_some((account, name))
}

fn upsert<T: DeserializeOwned>(
    map: &mut HashMap<String, T>,
    kind: &str,
    id: &str,
    value: Option<serde_json::Value>,
) -> Result<(), BadRecord> {
    match value {
        Some(value) => {
            map.insert(id.to_owned(), decode(kind, id, value)?);
        }
        None => {
            map.remove(id);
        }
    }
    Ok(())
}

fn decode<T: DeserializeOwned>(
    kind: &str,
    id: &str,
    value: serde_json::Value,
) -> Result<T, BadRecord> {
    serde_json::from_value(value).map_err(|e| bad(kind, id, e.to_string()))
}

fn bad(kind: &str, id: &str, reason: String) -> BadRecord {
    BadRecord {
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason,
    }
}

/// Opens a secret sealed with its record id as AAD.
fn open_secret(
    sealed: &str,
    id: &str,
    master_key: &MasterKey,
) -> Result<Zeroizing<String>, String> {
    let plain = master_key
        .open(sealed, id.as_bytes())
        .map_err(|e| e.to_string())?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| "secret is not UTF-8".to_owned())
}

#[cfg(test)]
mod tests {
    use rampart_store::{Change, Expect, MasterKey, Mutation, Record};

    const ALIAS: &str = crate::records::IAM_ACCOUNT_ALIAS;

    fn change(seq: i64, kind: &str, version: Option<i64>) -> Change {
        Change {
            seq,
            kind: kind.into(),
            id: "a".into(),
            record: version.map(|version| Record {
                kind: kind.into(),
                id: "a".into(),
                version,
                value: serde_json::json!({"accountId": "1", "alias": "a", "created": 0}),
            }),
        }
    }

    #[test]
    fn a_write_back_insists_on_the_version_the_view_holds() {
        let key = MasterKey::from_bytes(&[7; 32]);
        let mut view = super::View::default();
        let put = |expect| Mutation::Put {
            kind: ALIAS.into(),
            id: "a".into(),
            value: serde_json::json!({}),
            expect,
        };
        let expect_of = |m: Mutation| match m {
            Mutation::Put { expect, .. } => expect,
            _ => unreachable!(),
        };
        // Not in the view: no condition.
        assert_eq!(expect_of(view.write_back(put(Expect::Absent))), Expect::Any);
        view.apply([change(1, ALIAS, Some(1)), change(2, ALIAS, Some(2))], &key)
            .unwrap();
        assert_eq!(view.version(ALIAS, "a"), Some(2));
        assert_eq!(
            expect_of(view.write_back(put(Expect::Any))),
            Expect::Version(2)
        );
        view.apply([change(3, ALIAS, None)], &key).unwrap();
        assert_eq!(view.version(ALIAS, "a"), None, "deleted");
        // Kinds this build does not serve are kept out of memory, versions too.
        view.apply([change(4, "other.kind", Some(1))], &key)
            .unwrap();
        assert_eq!(view.version("other.kind", "a"), None);
    }

    #[test]
    fn policy_arns_name_account_and_name() {
        assert_eq!(
            super::parse_policy_arn("arn:aws:iam::123456789012:policy/team/a/ReadLogs"),
            Some(("123456789012", "ReadLogs"))
        );
        assert_eq!(
            super::parse_policy_arn("arn:aws:iam::aws:policy/AdministratorAccess"),
            Some(("aws", "AdministratorAccess"))
        );
        assert_eq!(super::parse_policy_arn("arn:aws:iam::1:role/x"), None);
        assert_eq!(super::parse_policy_arn("arn:aws:iam::1:policy/"), None);
    }
}
