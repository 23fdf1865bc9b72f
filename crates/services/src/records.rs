//! The entities rampart stores, as the JSON each record's `value` holds. Every kind
//! has a constant name and a function that builds its record id, so that ids are
//! spelt one way only. Secrets inside a record are sealed under the master key
//! before they get here (see [`crate::control_plane::ControlPlane::seal`]).

use serde::{Deserialize, Serialize};

/// Record kind of an [`Account`]; id: the account id.
pub const ACCOUNT: &str = "account";
/// Record kind of an IAM [`User`]; id: [`user_id`].
pub const IAM_USER: &str = "iam.user";
/// Record kind of an [`AccessKey`]; id: the access key id.
pub const ACCESS_KEY: &str = "iam.access-key";

/// The record id of a user: names are unique per account, case-insensitively.
pub fn user_id(account_id: &str, user_name: &str) -> String {
    format!("{account_id}/{}", user_name.to_ascii_lowercase())
}

/// An account: the unit that owns identities and resources, with its root user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_id: String,
    pub name: String,
    /// Seconds since the epoch.
    pub created: i64,
}

impl Account {
    /// The ARN of the account's root user.
    pub fn root_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account_id)
    }
}

/// An IAM user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub account_id: String,
    pub user_name: String,
    /// The unique id (`AIDA…`), what `aws:userid` holds.
    pub user_id: String,
    pub path: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// ARNs of the managed policies attached to the user.
    #[serde(default)]
    pub attached_policies: Vec<String>,
}

impl User {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:user{}{}",
            self.account_id, self.path, self.user_name
        )
    }
}

/// Whether an access key may be used.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
pub enum KeyStatus {
    Active,
    Inactive,
}

/// A long-term access key of an IAM user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessKey {
    pub access_key_id: String,
    pub account_id: String,
    pub user_name: String,
    pub status: KeyStatus,
    /// Seconds since the epoch.
    pub created: i64,
    /// The secret access key, sealed under the master key with the key id as AAD.
    pub sealed_secret: String,
}
