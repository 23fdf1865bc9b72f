//! The entities rampart stores, as the JSON each record's `value` holds. Every kind
//! has a constant name and a function that builds its record id, so that ids are
//! spelt one way only. Secrets inside a record are sealed under the master key
//! before they get here (see [`crate::control_plane::ControlPlane::seal`]).
//!
//! Fields added after a kind was first stored carry `#[serde(default)]`, so records
//! written by an older rampart still load.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// Record kind of an [`Account`]; id: the account id.
pub const ACCOUNT: &str = "account";
/// Record kind of an IAM [`User`]; id: [`entity_id`].
pub const IAM_USER: &str = "iam.user";
/// Record kind of an IAM [`Group`]; id: [`entity_id`].
pub const IAM_GROUP: &str = "iam.group";
/// Record kind of an IAM [`Role`]; id: [`entity_id`].
pub const IAM_ROLE: &str = "iam.role";
/// Record kind of a customer [`ManagedPolicy`]; id: [`entity_id`] of its name.
pub const IAM_POLICY: &str = "iam.policy";
/// Record kind of an [`InstanceProfile`]; id: [`entity_id`].
pub const IAM_INSTANCE_PROFILE: &str = "iam.instance-profile";
/// Record kind of an [`AccessKey`]; id: the access key id.
pub const ACCESS_KEY: &str = "iam.access-key";
/// Record kind of a [`Session`] (STS temporary credentials); id: the access key id.
pub const STS_SESSION: &str = "sts.session";

/// The record id of a named IAM entity: names are unique per account and kind,
/// case-insensitively, whatever the path.
pub fn entity_id(account_id: &str, name: &str) -> String {
    format!("{account_id}/{}", name.to_ascii_lowercase())
}

/// The record id of a user.
pub fn user_id(account_id: &str, user_name: &str) -> String {
    entity_id(account_id, user_name)
}

/// An account: the unit that owns identities and resources, with its root user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Account {
    pub account_id: String,
    pub name: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// The account's email address (Organizations requires one).
    #[serde(default)]
    pub email: Option<String>,
    /// The organization the account belongs to, as management or member account.
    #[serde(default)]
    pub membership: Option<Membership>,
}

impl Account {
    /// The ARN of the account's root user.
    pub fn root_arn(&self) -> String {
        format!("arn:aws:iam::{}:root", self.account_id)
    }
}

/// One tag of an IAM entity, in the order it was added.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    pub key: String,
    pub value: String,
}

/// What grants an identity (user, group or role) its permissions.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Permissions {
    /// Inline policies: name → document as the caller sent it.
    #[serde(default)]
    pub inline_policies: BTreeMap<String, String>,
    /// ARNs of the managed policies attached, in attachment order.
    #[serde(default)]
    pub attached_policies: Vec<String>,
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
    #[serde(flatten)]
    pub permissions: Permissions,
    /// Names of the groups the user belongs to, in the order it joined them.
    #[serde(default)]
    pub groups: Vec<String>,
    /// The ARN of the managed policy that bounds the user's permissions.
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl User {
    pub fn arn(&self) -> String {
        entity_arn(&self.account_id, "user", &self.path, &self.user_name)
    }

    /// Whether the user belongs to the group `name` (names compare case-insensitively).
    pub fn in_group(&self, name: &str) -> bool {
        self.groups.iter().any(|g| g.eq_ignore_ascii_case(name))
    }
}

/// An IAM group.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub account_id: String,
    pub group_name: String,
    /// The unique id (`AGPA…`).
    pub group_id: String,
    pub path: String,
    pub created: i64,
    #[serde(flatten)]
    pub permissions: Permissions,
}

impl Group {
    pub fn arn(&self) -> String {
        entity_arn(&self.account_id, "group", &self.path, &self.group_name)
    }
}

/// An IAM role.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Role {
    pub account_id: String,
    pub role_name: String,
    /// The unique id (`AROA…`), the first half of a session's `aws:userid`.
    pub role_id: String,
    pub path: String,
    pub created: i64,
    /// The trust policy, as the caller sent it.
    pub assume_role_policy: String,
    #[serde(default)]
    pub description: Option<String>,
    /// How long a session of this role may last, in seconds (3600 to 43200).
    pub max_session_duration: i64,
    #[serde(flatten)]
    pub permissions: Permissions,
    #[serde(default)]
    pub permissions_boundary: Option<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// When a session of the role was last created, and in which region.
    #[serde(default)]
    pub last_used: Option<(i64, String)>,
}

impl Role {
    pub fn arn(&self) -> String {
        entity_arn(&self.account_id, "role", &self.path, &self.role_name)
    }
}

/// One version of a managed policy.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PolicyVersion {
    /// `v1`, `v2`, …: never reused within the policy.
    pub version_id: String,
    pub document: String,
    pub created: i64,
}

/// A customer managed policy with its versions (at most five).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ManagedPolicy {
    pub account_id: String,
    pub policy_name: String,
    /// The unique id (`ANPA…`).
    pub policy_id: String,
    pub path: String,
    #[serde(default)]
    pub description: Option<String>,
    pub created: i64,
    pub updated: i64,
    pub default_version: String,
    /// The number the next version takes.
    pub next_version: u32,
    pub versions: Vec<PolicyVersion>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl ManagedPolicy {
    pub fn arn(&self) -> String {
        entity_arn(&self.account_id, "policy", &self.path, &self.policy_name)
    }

    /// The version policies are evaluated with.
    pub fn default(&self) -> Option<&PolicyVersion> {
        self.versions
            .iter()
            .find(|v| v.version_id == self.default_version)
    }
}

/// An instance profile: a container for one role, for EC2.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct InstanceProfile {
    pub account_id: String,
    pub instance_profile_name: String,
    /// The unique id (`AIPA…`).
    pub instance_profile_id: String,
    pub path: String,
    pub created: i64,
    /// Names of the roles in the profile (at most one).
    #[serde(default)]
    pub roles: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl InstanceProfile {
    pub fn arn(&self) -> String {
        entity_arn(
            &self.account_id,
            "instance-profile",
            &self.path,
            &self.instance_profile_name,
        )
    }
}

/// `arn:aws:iam::ACCOUNT:TYPE/PATH/NAME` (a path starts and ends with `/`).
pub fn entity_arn(account_id: &str, resource_type: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account_id}:{resource_type}{path}{name}")
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
    /// The user the key belongs to; empty for a key of the account root user.
    pub user_name: String,
    /// The unique id (`AIDA…`) of the user the key was issued to: a key whose user is
    /// gone never works for a namesake created later. `None` in records written before
    /// rampart kept it, and for root keys.
    #[serde(default)]
    pub user_id: Option<String>,
    /// The key belongs to the account root user (AWS allows it, and discourages it).
    #[serde(default)]
    pub root: bool,
    pub status: KeyStatus,
    /// Seconds since the epoch.
    pub created: i64,
    /// The secret access key, sealed under the master key with the key id as AAD.
    pub sealed_secret: String,
}

/// Who a set of temporary credentials acts as.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase", tag = "type")]
pub enum SessionPrincipal {
    /// A session of a role (AssumeRole and its federated variants).
    AssumedRole {
        role_name: String,
        session_name: String,
    },
    /// GetSessionToken: the calling user (or root) itself, for a while.
    User {
        /// `None` for the account root user.
        user_name: Option<String>,
    },
    /// GetFederationToken: a federated user, bounded by the calling user.
    FederatedUser { user_name: String, name: String },
}

/// Temporary credentials issued by STS. The session token itself is not stored, only
/// its SHA-256, which a request's `X-Amz-Security-Token` must match.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Session {
    pub access_key_id: String,
    pub account_id: String,
    pub principal: SessionPrincipal,
    /// The unique id of the user or role the session was issued for (the account id
    /// for root): a session whose principal is gone never works for a namesake created
    /// later. `None` in records written before rampart kept it.
    #[serde(default)]
    pub principal_id: Option<String>,
    /// The secret access key, sealed under the master key with the key id as AAD.
    pub sealed_secret: String,
    /// Hex SHA-256 of the session token.
    pub token_sha256: String,
    /// Seconds since the epoch.
    pub issued: i64,
    pub expires: i64,
    /// Session policies (inline document and managed ARNs) that narrow the session.
    #[serde(default)]
    pub session_policies: Vec<String>,
    /// The session has only what its session policies allow, even with none
    /// (GetFederationToken without a policy grants nothing).
    #[serde(default)]
    pub policy_required: bool,
    /// Session tags (`aws:PrincipalTag/*` for the session).
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// Keys of tags that role chaining passes on.
    #[serde(default)]
    pub transitive_tag_keys: Vec<String>,
    #[serde(default)]
    pub source_identity: Option<String>,
    /// Whether MFA was presented when the session was created, and when.
    #[serde(default)]
    pub mfa_authenticated: Option<i64>,
    /// A session made from another role session (one-hour limit).
    #[serde(default)]
    pub chained: bool,
}

/// Record kind of an [`OidcProvider`]; id: [`oidc_provider_id`].
pub const IAM_OIDC_PROVIDER: &str = "iam.oidc-provider";
/// Record kind of a [`SamlProvider`]; id: [`entity_id`] of its name.
pub const IAM_SAML_PROVIDER: &str = "iam.saml-provider";

/// The record id of an OpenID Connect provider: its account and its URL without the
/// scheme (`host/path`, host lower-cased), as in its ARN.
pub fn oidc_provider_id(account_id: &str, url: &str) -> String {
    format!("{account_id}/{url}")
}

/// An IAM OpenID Connect identity provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OidcProvider {
    pub account_id: String,
    /// The issuer URL without `https://` and without a trailing `/`.
    pub url: String,
    /// The audiences (`aud`) tokens may be issued for.
    #[serde(default)]
    pub client_ids: Vec<String>,
    #[serde(default)]
    pub thumbprints: Vec<String>,
    pub created: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
    /// The provider's signing keys, a JWKS document as registered through
    /// `PUT /_rampart/oidc-jwks` (rampart cannot fetch them from the issuer).
    #[serde(default)]
    pub jwks: Option<String>,
}

impl OidcProvider {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:oidc-provider/{}",
            self.account_id, self.url
        )
    }
}

/// An IAM SAML 2.0 identity provider.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct SamlProvider {
    pub account_id: String,
    pub name: String,
    /// `SAMLProviderUUID`.
    pub uuid: String,
    /// The metadata document as the caller sent it.
    pub metadata: String,
    /// The IdP's signing certificates (base64 DER), from the metadata.
    #[serde(default)]
    pub certificates: Vec<String>,
    /// The IdP's entity id (`saml:iss` of its assertions).
    #[serde(default)]
    pub entity_id: String,
    pub created: i64,
    /// Seconds since the epoch.
    pub valid_until: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl SamlProvider {
    pub fn arn(&self) -> String {
        format!(
            "arn:aws:iam::{}:saml-provider/{}",
            self.account_id, self.name
        )
    }
}

/// Record kind of a virtual [`MfaDevice`]; id: [`mfa_device_id`] of its serial number.
pub const IAM_MFA_DEVICE: &str = "iam.mfa-device";
/// Record kind of a user's [`LoginProfile`] (console password); id: [`user_id`].
pub const IAM_LOGIN_PROFILE: &str = "iam.login-profile";
/// Record kind of an account's [`PasswordPolicy`]; id: the account id.
pub const IAM_PASSWORD_POLICY: &str = "iam.password-policy";
/// Record kind of an [`AccountAlias`]; id: the alias (unique across accounts).
pub const IAM_ACCOUNT_ALIAS: &str = "iam.account-alias";

/// The record id of an MFA device: its serial number, case-insensitively.
pub fn mfa_device_id(serial_number: &str) -> String {
    serial_number.to_ascii_lowercase()
}

/// A virtual MFA device: a TOTP seed, unassigned or enabled for one user.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct MfaDevice {
    pub account_id: String,
    pub name: String,
    pub path: String,
    pub created: i64,
    /// The seed (base32), sealed under the master key with the record id as AAD.
    pub sealed_seed: String,
    /// The user the device is enabled for.
    #[serde(default)]
    pub user_name: Option<String>,
    /// When it was enabled (seconds since the epoch).
    #[serde(default)]
    pub enabled: Option<i64>,
    /// The replay guard: the last time step whose code was accepted; codes of this
    /// step or earlier are refused.
    #[serde(default)]
    pub last_step: i64,
    /// How many steps the device's clock runs ahead of ours (negative: behind), as
    /// EnableMFADevice and ResyncMFADevice found it.
    #[serde(default)]
    pub drift: i64,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

impl MfaDevice {
    /// `arn:aws:iam::ACCOUNT:mfa/PATH/NAME`, the device's serial number.
    pub fn serial_number(&self) -> String {
        entity_arn(&self.account_id, "mfa", &self.path, &self.name)
    }
}

/// A user's console password, as an Argon2id hash only.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct LoginProfile {
    pub account_id: String,
    pub user_name: String,
    pub created: i64,
    /// PHC string of the Argon2id hash of the current password.
    pub password_hash: String,
    #[serde(default)]
    pub password_reset_required: bool,
    /// When the password was last set.
    pub password_changed: i64,
    /// Hashes of earlier passwords, newest last (for PasswordReusePrevention).
    #[serde(default)]
    pub previous_hashes: Vec<String>,
}

/// An account's password policy, as UpdateAccountPasswordPolicy last set it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PasswordPolicy {
    pub account_id: String,
    pub minimum_password_length: i64,
    #[serde(default)]
    pub require_symbols: bool,
    #[serde(default)]
    pub require_numbers: bool,
    #[serde(default)]
    pub require_uppercase_characters: bool,
    #[serde(default)]
    pub require_lowercase_characters: bool,
    #[serde(default)]
    pub allow_users_to_change_password: bool,
    /// Days a password is valid.
    #[serde(default)]
    pub max_password_age: Option<i64>,
    /// How many earlier passwords a new one may not repeat.
    #[serde(default)]
    pub password_reuse_prevention: Option<i64>,
    #[serde(default)]
    pub hard_expiry: Option<bool>,
}

/// An account's alias (at most one per account; unique across accounts).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccountAlias {
    pub account_id: String,
    pub alias: String,
    pub created: i64,
}

/// Record kind of an account's [`CredentialReport`]; id: the account id.
pub const IAM_CREDENTIAL_REPORT: &str = "iam.credential-report";
/// Record kind of an [`AccessDetailsJob`] (GenerateServiceLastAccessedDetails); id:
/// the job id.
pub const IAM_ACCESS_DETAILS_JOB: &str = "iam.access-details-job";

/// The credential report GenerateCredentialReport last made for an account.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CredentialReport {
    pub account_id: String,
    /// Seconds since the epoch.
    pub generated: i64,
    /// The CSV text.
    pub content: String,
}

/// A service last accessed report, computed from the audit trail when it was asked for.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AccessDetailsJob {
    pub job_id: String,
    pub account_id: String,
    /// The user, group, role or policy the report is about.
    pub arn: String,
    /// `SERVICE_LEVEL` or `ACTION_LEVEL`.
    pub granularity: String,
    pub created: i64,
    pub completed: i64,
    #[serde(default)]
    pub services: Vec<ServiceAccess>,
}

/// One service of an [`AccessDetailsJob`].
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ServiceAccess {
    pub service_name: String,
    pub service_namespace: String,
    /// When an entity of the report last authenticated to the service, and which one.
    #[serde(default)]
    pub last_authenticated: Option<(i64, String, String)>,
    /// How many of the report's entities used the service.
    #[serde(default)]
    pub total_authenticated_entities: i64,
}

/// Record kind of a KMS key ([`KmsKey`]); id: the key id (a UUID).
pub const KMS_KEY: &str = "kms.key";
/// Record kind of a KMS alias ([`KmsAlias`]); id: [`kms_alias_id`].
pub const KMS_ALIAS: &str = "kms.alias";
/// Record kind of a KMS grant ([`KmsGrant`]); id: the grant id.
pub const KMS_GRANT: &str = "kms.grant";

/// The record id of an alias: alias names are unique per account and region.
pub fn kms_alias_id(account_id: &str, region: &str, alias_name: &str) -> String {
    format!("{account_id}/{region}/{alias_name}")
}

/// A KMS key: its metadata, its key policy and its key material (every version, each
/// sealed under the master key; see `crate::kms` for the AAD). The material is never
/// returned by any API and never logged.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KmsKey {
    pub key_id: String,
    pub account_id: String,
    pub region: String,
    #[serde(default)]
    pub description: String,
    /// `ENCRYPT_DECRYPT`, `SIGN_VERIFY`, `GENERATE_VERIFY_MAC`.
    pub key_usage: String,
    /// `SYMMETRIC_DEFAULT`, `RSA_2048`, `ECC_NIST_P256`, `HMAC_256`, ...
    pub key_spec: String,
    /// `AWS_KMS` or `EXTERNAL`.
    pub origin: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// `Enabled`, `Disabled`, `PendingDeletion`, `PendingImport`.
    pub state: String,
    /// When a key pending deletion is deleted (seconds since the epoch).
    #[serde(default)]
    pub deletion_date: Option<i64>,
    #[serde(default)]
    pub pending_window_days: Option<i64>,
    /// The key policy document, as the caller sent it.
    pub policy: String,
    #[serde(default)]
    pub tags: Vec<KmsTag>,
    #[serde(default)]
    pub rotation_enabled: bool,
    #[serde(default)]
    pub rotation_period_days: Option<i64>,
    #[serde(default)]
    pub next_rotation: Option<i64>,
    /// Key material, oldest first; the last is current. Ciphertexts name the index.
    #[serde(default)]
    pub materials: Vec<KmsMaterial>,
    /// Imported material: when it expires (`None`: it does not).
    #[serde(default)]
    pub valid_to: Option<i64>,
    /// The wrapping key and token of the last GetParametersForImport, if any.
    #[serde(default)]
    pub import: Option<KmsImport>,
    /// The material id (hex SHA-256) of the material first imported into an
    /// `EXTERNAL` key: only that material may be imported again.
    #[serde(default)]
    pub imported_material_id: Option<String>,
}

impl KmsKey {
    /// The key's state at `now`: imported key material that has reached its
    /// `ValidTo` is gone, and the key is `PendingImport` until new material comes.
    pub fn state_at(&self, now: i64) -> &str {
        let expired = self.valid_to.is_some_and(|t| t <= now);
        if expired && matches!(self.state.as_str(), "Enabled" | "Disabled") {
            "PendingImport"
        } else {
            &self.state
        }
    }
}

/// A tag of a KMS key (KMS spells its members `TagKey` and `TagValue`).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase")]
pub struct KmsTag {
    pub tag_key: String,
    pub tag_value: String,
}

/// One version of a key's material.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KmsMaterial {
    /// The KeyMaterialId KMS reports (64 hex characters).
    pub material_id: String,
    /// Seconds since the epoch.
    pub created: i64,
    /// `AUTOMATIC` or `ON_DEMAND` for rotated material, `None` for the first.
    #[serde(default)]
    pub rotation_type: Option<String>,
    /// The material (raw bytes, or PKCS#8 DER for asymmetric keys), sealed under the
    /// master key.
    pub sealed: String,
}

/// What GetParametersForImport handed out: the import token and the RSA wrapping
/// key's private half (PKCS#8 DER, sealed under the master key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KmsImport {
    pub token: String,
    pub wrapping_algorithm: String,
    pub sealed_private_key: String,
    pub expires: i64,
}

/// A KMS alias.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KmsAlias {
    pub account_id: String,
    pub region: String,
    /// `alias/NAME`.
    pub alias_name: String,
    pub target_key_id: String,
    pub created: i64,
    pub updated: i64,
}

/// A KMS grant.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct KmsGrant {
    pub grant_id: String,
    pub key_id: String,
    pub account_id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub grantee_principal: String,
    #[serde(default)]
    pub retiring_principal: Option<String>,
    pub issuing_account: String,
    pub operations: Vec<String>,
    #[serde(default)]
    pub encryption_context_subset: Option<BTreeMap<String, String>>,
    #[serde(default)]
    pub encryption_context_equals: Option<BTreeMap<String, String>>,
    /// Hex SHA-256 of the grant token handed out by CreateGrant.
    pub token_sha256: String,
    pub created: i64,
}

// ---- Organizations ----

/// Record kind of an [`Organization`]; id: the organization id (`o-…`).
pub const ORGANIZATION: &str = "org.organization";
/// Record kind of an [`OrganizationalUnit`]; id: the OU id (`ou-…`).
pub const ORG_UNIT: &str = "org.ou";
/// Record kind of a customer [`OrgPolicy`]; id: the policy id (`p-…`).
pub const ORG_POLICY: &str = "org.policy";
/// Record kind of a [`CreateAccountRequest`]; id: its request id (`car-…`).
pub const ORG_CREATE_ACCOUNT: &str = "org.create-account";
/// Record kind of a [`Handshake`]; id: the handshake id (`h-…`).
pub const ORG_HANDSHAKE: &str = "org.handshake";

/// An organization: a management account, one root, and the policy types enabled on
/// the root.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Organization {
    pub id: String,
    pub management_account_id: String,
    pub feature_set: String,
    pub root_id: String,
    pub created: i64,
    /// Policy types enabled on the root (`SERVICE_CONTROL_POLICY`, …).
    #[serde(default)]
    pub enabled_policy_types: Vec<String>,
    /// Policies attached to the root, by id.
    #[serde(default)]
    pub root_policies: Vec<String>,
    #[serde(default)]
    pub root_tags: Vec<Tag>,
    /// `(account id, service principal, registered at)` of delegated administrators.
    #[serde(default)]
    pub delegated_administrators: Vec<(String, String, i64)>,
    /// `(service principal, enabled at)` of the services with trusted access.
    #[serde(default)]
    pub service_access: Vec<(String, i64)>,
}

/// An account's place in an organization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Membership {
    pub organization_id: String,
    /// The root or OU the account is in.
    pub parent_id: String,
    /// `CREATED` or `INVITED`.
    pub joined_method: String,
    pub joined: i64,
    /// `ACTIVE`, `SUSPENDED` or `PENDING_CLOSURE`.
    pub state: String,
    /// Policies attached to the account, by id.
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// An organizational unit.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrganizationalUnit {
    pub id: String,
    pub organization_id: String,
    pub parent_id: String,
    pub name: String,
    pub created: i64,
    /// Policies attached to the OU, by id.
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A customer managed organization policy (SCP, RCP, tag policy, …).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct OrgPolicy {
    pub id: String,
    pub organization_id: String,
    pub name: String,
    #[serde(default)]
    pub description: String,
    /// `SERVICE_CONTROL_POLICY`, `RESOURCE_CONTROL_POLICY`, `TAG_POLICY`, …
    pub policy_type: String,
    pub content: String,
    #[serde(default)]
    pub tags: Vec<Tag>,
}

/// A CreateAccount request and how it ended.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct CreateAccountRequest {
    pub id: String,
    pub organization_id: String,
    pub account_name: String,
    /// `IN_PROGRESS`, `SUCCEEDED` or `FAILED`.
    pub state: String,
    pub requested: i64,
    pub completed: Option<i64>,
    pub account_id: Option<String>,
    pub failure_reason: Option<String>,
}

/// An invitation to join an organization.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Handshake {
    pub id: String,
    pub organization_id: String,
    /// The invited account.
    pub target_account_id: String,
    /// `OPEN`, `ACCEPTED`, `DECLINED`, `CANCELED`, `EXPIRED`.
    pub state: String,
    pub requested: i64,
    pub expires: i64,
    #[serde(default)]
    pub notes: Option<String>,
}
