//! The in-memory view of the store that every request reads: accounts, users and
//! access keys, kept current by applying the store's changes in sequence order.
//! Requests never read storage for identity data; they read this.

use std::collections::HashMap;
use std::sync::Arc;

use rampart_policy::PolicySet;
use rampart_store::{Change, MasterKey, Record};
use serde::de::DeserializeOwned;
use zeroize::Zeroizing;

use crate::aws_managed;
use crate::caller::{Caller, Credentials, PrincipalType};
use crate::records::{self, AccessKey, Account, KeyStatus, User};

/// An access key with its secret opened, ready for signature checks.
pub struct KeyEntry {
    pub key: AccessKey,
    pub secret: Zeroizing<String>,
}

/// Every record the control plane serves from memory, by record id.
#[derive(Default)]
pub struct View {
    /// The sequence number of the last change applied.
    pub seq: i64,
    pub accounts: HashMap<String, Account>,
    pub users: HashMap<String, User>,
    pub access_keys: HashMap<String, KeyEntry>,
    /// The compiled identity-based policies of each user, by user record id.
    identity: HashMap<String, Arc<PolicySet>>,
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
            view.put(&record.kind, &record.id, Some(record.value), master_key)?;
        }
        Ok(view)
    }

    /// Applies one change from the feed.
    pub fn apply(&mut self, change: Change, master_key: &MasterKey) -> Result<(), BadRecord> {
        self.seq = change.seq;
        let value = change.record.map(|r| r.value);
        self.put(&change.kind, &change.id, value, master_key)
    }

    fn put(
        &mut self,
        kind: &str,
        id: &str,
        value: Option<serde_json::Value>,
        master_key: &MasterKey,
    ) -> Result<(), BadRecord> {
        match kind {
            records::ACCOUNT => upsert(&mut self.accounts, kind, id, value)?,
            records::IAM_USER => {
                upsert(&mut self.users, kind, id, value)?;
                self.compile_identity(id);
            }
            records::ACCESS_KEY => {
                self.access_keys.remove(id);
                if let Some(value) = value {
                    let key: AccessKey = decode(kind, id, value)?;
                    let secret = open_secret(&key, master_key).map_err(|reason| BadRecord {
                        kind: kind.to_owned(),
                        id: id.to_owned(),
                        reason,
                    })?;
                    self.access_keys
                        .insert(id.to_owned(), KeyEntry { key, secret });
                }
            }
            // Kinds owned by services this build does not serve are kept out of memory.
            _ => {}
        }
        Ok(())
    }

    /// Rebuilds the identity-based policy set of the user with record id `id`.
    fn compile_identity(&mut self, id: &str) {
        match self.users.get(id) {
            Some(user) => {
                let policies = user
                    .attached_policies
                    .iter()
                    .filter_map(|arn| aws_managed::policy(arn))
                    .collect();
                self.identity
                    .insert(id.to_owned(), Arc::new(PolicySet::new(policies)));
            }
            None => {
                self.identity.remove(id);
            }
        }
    }

    /// The compiled identity-based policies of a user.
    pub fn identity_policies(&self, account_id: &str, user_name: &str) -> Option<Arc<PolicySet>> {
        self.identity
            .get(&records::user_id(account_id, user_name))
            .cloned()
    }

    /// The secret and principal of an active access key, if there is one.
    pub fn credentials(&self, access_key_id: &str) -> Option<Credentials> {
        let entry = self
            .access_keys
            .get(access_key_id)
            .filter(|entry| entry.key.status == KeyStatus::Active)?;
        let key = &entry.key;
        let user = self
            .users
            .get(&records::user_id(&key.account_id, &key.user_name))?;
        Some(Credentials {
            secret_access_key: entry.secret.clone(),
            caller: Arc::new(Caller {
                principal_type: PrincipalType::IamUser,
                account_id: key.account_id.clone(),
                arn: user.arn(),
                user_id: user.user_id.clone(),
                user_name: Some(user.user_name.clone()),
                access_key_id: Some(key.access_key_id.clone()),
            }),
        })
    }
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
    serde_json::from_value(value).map_err(|e| BadRecord {
        kind: kind.to_owned(),
        id: id.to_owned(),
        reason: e.to_string(),
    })
}

fn open_secret(key: &AccessKey, master_key: &MasterKey) -> Result<Zeroizing<String>, String> {
    let plain = master_key
        .open(&key.sealed_secret, key.access_key_id.as_bytes())
        .map_err(|e| e.to_string())?;
    String::from_utf8(plain.to_vec())
        .map(Zeroizing::new)
        .map_err(|_| "secret is not UTF-8".to_owned())
}
