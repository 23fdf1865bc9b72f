//! `rampart init`: sets up an account the way AWS recommends using a new one. It
//! creates the account (and so its root user), then a first IAM user `admin` with the
//! AWS-managed AdministratorAccess policy, and issues that user an access key, so
//! day-to-day work never needs the root user. (`--root` issues the root user a key
//! instead, for testing what applies to root.)

use rampart_store::{Batch, Expect, Mutation};
use zeroize::Zeroizing;

use crate::control_plane::{ControlPlane, PlaneError};
use crate::iam::access_keys::{self, KEYS_PER_USER};
use crate::ids::{self, IdPrefix};
use crate::records::{self, AccessKey, Account, Permissions, User};

/// The first IAM user `rampart init` creates.
pub const ADMIN_USER: &str = "admin";
/// The AWS-managed policy the first user gets.
pub const ADMINISTRATOR_ACCESS: &str = "arn:aws:iam::aws:policy/AdministratorAccess";

/// Whose access key `initialize` issues.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyOwner {
    /// The `admin` IAM user (created if need be), as AWS recommends.
    Admin,
    /// The account root user, as AWS allows and discourages: for testing what
    /// applies to root, such as an organization's SCPs on a member account.
    Root,
}

/// The access key `initialize` issued. The secret is shown once, here.
pub struct Issued {
    pub account_id: String,
    /// The ARN of the key's owner.
    pub user_arn: String,
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
}

/// Makes sure `account_id` (or, if `None`, the only account, or a new one) exists,
/// with its `admin` user when the key is for the admin, and issues `owner` a new
/// access key. When the owner already has the two keys AWS allows, the older one is
/// replaced.
pub async fn initialize(
    plane: &ControlPlane,
    account_id: Option<&str>,
    owner: KeyOwner,
) -> Result<Issued, PlaneError> {
    let now = chrono::Utc::now().timestamp();
    let mut mutations = Vec::new();
    let (account, user, old_keys) = {
        let view = plane.view();
        let existing = match account_id {
            Some(id) => view.accounts.get(id).cloned(),
            None if view.accounts.len() == 1 => view.accounts.values().next().cloned(),
            None => None,
        };
        let account = existing.unwrap_or_else(|| {
            let account = new_account(
                account_id.map_or_else(ids::new_account_id, str::to_owned),
                now,
            );
            mutations.push(put(records::ACCOUNT, &account.account_id, &account));
            account
        });
        let user = (owner == KeyOwner::Admin).then(|| {
            let user_id = records::user_id(&account.account_id, ADMIN_USER);
            view.users.get(&user_id).cloned().unwrap_or_else(|| {
                let user = User {
                    account_id: account.account_id.clone(),
                    user_name: ADMIN_USER.to_owned(),
                    user_id: ids::new_id(IdPrefix::User),
                    path: "/".to_owned(),
                    created: now,
                    permissions: Permissions {
                        attached_policies: vec![ADMINISTRATOR_ACCESS.to_owned()],
                        ..Permissions::default()
                    },
                    groups: Vec::new(),
                    permissions_boundary: None,
                    tags: Vec::new(),
                };
                mutations.push(put(records::IAM_USER, &user_id, &user));
                user
            })
        });
        let owner_name = user.as_ref().map_or("", |u| u.user_name.as_str());
        let mut old_keys: Vec<AccessKey> = view
            .access_keys
            .values()
            .filter(|e| {
                e.key.account_id == account.account_id
                    && e.key.user_name == owner_name
                    && e.key.root == (owner == KeyOwner::Root)
            })
            .map(|e| e.key.clone())
            .collect();
        old_keys.sort_by_key(|k| k.created);
        (account, user, old_keys)
    };
    if let Some(oldest) = old_keys
        .len()
        .checked_sub(KEYS_PER_USER - 1)
        .and_then(|n| old_keys.get(..n))
    {
        for key in oldest {
            mutations.push(Mutation::Delete {
                kind: records::ACCESS_KEY.to_owned(),
                id: key.access_key_id.clone(),
                expect: Expect::Any,
            });
        }
    }
    let owner_name = user.as_ref().map_or("", |u| u.user_name.as_str());
    let owner_id = user.as_ref().map(|u| u.user_id.as_str());
    let (mut key, secret) =
        access_keys::issue(plane, &account.account_id, owner_name, owner_id, now);
    key.root = owner == KeyOwner::Root;
    mutations.push(put(records::ACCESS_KEY, &key.access_key_id, &key));
    plane
        .commit(Batch {
            mutations,
            audit: Vec::new(),
        })
        .await?;
    Ok(Issued {
        user_arn: user.map_or_else(|| account.root_arn(), |u| u.arn()),
        account_id: account.account_id,
        access_key_id: key.access_key_id,
        secret_access_key: secret,
    })
}

/// In `--dev`, unknown access keys act as the root user of `Settings::default_account_id`:
/// that account must be a real one, as if `rampart init` had made it (Organizations,
/// for one, looks its record up). Creates its record when the state has none (at
/// start and after a reset); another replica creating it first is no failure.
pub async fn ensure_dev_account(plane: &ControlPlane) -> Result<(), PlaneError> {
    let id = &plane.settings().default_account_id;
    if !plane.settings().dev || plane.view().accounts.contains_key(id) {
        return Ok(());
    }
    let account = new_account(id.clone(), chrono::Utc::now().timestamp());
    let batch = Batch {
        mutations: vec![put(records::ACCOUNT, id, &account)],
        audit: Vec::new(),
    };
    match plane.commit(batch).await {
        Err(PlaneError::Store(rampart_store::StoreError::Conflict { .. })) => {
            plane.catch_up().await
        }
        other => other,
    }
}

fn new_account(account_id: String, now: i64) -> Account {
    Account {
        account_id,
        name: "rampart".to_owned(),
        created: now,
        email: None,
        membership: None,
    }
}

/// A put of a new record: it must not exist yet, so two concurrent inits cannot both
/// create it.
fn put<T: serde::Serialize>(kind: &str, id: &str, value: &T) -> Mutation {
    Mutation::Put {
        kind: kind.to_owned(),
        id: id.to_owned(),
        value: serde_json::to_value(value).expect("records serialize to JSON"),
        expect: Expect::Absent,
    }
}
