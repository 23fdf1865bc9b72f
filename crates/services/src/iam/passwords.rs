//! Console passwords: users' login profiles, the account password policy that every
//! new password must meet, and ChangePassword (a user changing its own).
//!
//! Passwords are stored only as Argon2id hashes (PHC strings) and never returned; the
//! model marks them sensitive, so the audit trail hides them too. Without a policy,
//! AWS's default applies: at least 8 characters and three of the four character
//! classes.

use argon2::Argon2;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use rampart_policy::{DecidedBy, Decision, DecisionKind};
use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{no_such_entity, target_user_name};
use crate::authorize::Permission;
use crate::call::{Call, Outcome, to_canonical};
use crate::caller::{Caller, PrincipalType};
use crate::error::ServiceError;
use crate::records::{self, LoginProfile, PasswordPolicy};
use crate::view::View;

/// The characters AWS counts as symbols.
const SYMBOLS: &str = "!@#$%^&*()_+-=[]{}|'";
/// How many earlier hashes a profile keeps (PasswordReusePrevention's maximum).
const HISTORY: usize = 24;
/// The default policy's minimum length and how many character classes it wants.
const DEFAULT_MINIMUM: usize = 8;
const DEFAULT_CLASSES: usize = 3;

const VIOLATION: &str = "Password does not conform to the account password policy.";
const REUSED: &str =
    "Policy constraint violation with password reuse prevention during password change.";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    user_name: Option<String>,
    password: Option<String>,
    #[serde(default)]
    password_reset_required: bool,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    user_name: String,
    password: Option<String>,
    password_reset_required: Option<bool>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserNameInput {
    user_name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChangeInput {
    old_password: String,
    new_password: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PolicyInput {
    minimum_password_length: Option<i64>,
    #[serde(default)]
    require_symbols: bool,
    #[serde(default)]
    require_numbers: bool,
    #[serde(default)]
    require_uppercase_characters: bool,
    #[serde(default)]
    require_lowercase_characters: bool,
    #[serde(default)]
    allow_users_to_change_password: bool,
    max_password_age: Option<i64>,
    password_reuse_prevention: Option<i64>,
    hard_expiry: Option<bool>,
}

pub fn create_login_profile(call: &Call<'_>, input: CreateInput) -> Result<Outcome, ServiceError> {
    let name = target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let user = super::users::find(&view, account, name)?;
    let password = input.password.ok_or_else(|| {
        ServiceError::Validation(
            "1 validation error detected: Value null at 'password' failed to satisfy constraint: Member must not be null".to_owned(),
        )
    })?;
    if profile(&view, account, &user.user_name).is_some() {
        return Err(super::already_exists(format!(
            "Login Profile for user {} already exists.",
            user.user_name
        )));
    }
    let policy = view.password_policies.get(account);
    check_rules(policy, &password)?;
    let user_name = user.user_name.clone();
    // Hashing takes tens of milliseconds: not under the view's lock.
    drop(view);
    let now = call.now.timestamp();
    let profile = LoginProfile {
        account_id: account.clone(),
        user_name,
        created: now,
        password_hash: hash(&password)?,
        password_reset_required: input.password_reset_required,
        password_changed: now,
        previous_hashes: Vec::new(),
    };
    Ok(Outcome {
        output: json!({ "LoginProfile": profile_output(&profile) }),
        mutations: vec![put(&profile, Expect::Absent)?],
    })
}

pub fn get_login_profile(call: &Call<'_>, input: UserNameInput) -> Result<Outcome, ServiceError> {
    let name = target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let found = existing(&view, &call.caller.account_id, name)?;
    Ok(Outcome::output(
        json!({ "LoginProfile": profile_output(found) }),
    ))
}

pub fn update_login_profile(call: &Call<'_>, input: UpdateInput) -> Result<Outcome, ServiceError> {
    let (mut profile, policy, expect) =
        for_update(call, &call.caller.account_id, &input.user_name)?;
    if let Some(password) = &input.password {
        check_rules(policy.as_ref(), password)?;
        set_password(
            &mut profile,
            policy.as_ref(),
            password,
            call.now.timestamp(),
        )?;
    }
    if let Some(required) = input.password_reset_required {
        profile.password_reset_required = required;
    }
    Ok(Outcome::changed(vec![put(&profile, expect)?]))
}

pub fn delete_login_profile(
    call: &Call<'_>,
    input: UserNameInput,
) -> Result<Outcome, ServiceError> {
    let name = target_user_name(call, input.user_name.as_deref())?;
    let view = call.plane.view();
    let profile = existing(&view, &call.caller.account_id, name)?;
    // Insists on the profile read: one that a racing rename moved is not there to delete,
    // and the call runs again to find the user gone.
    let id = records::user_id(&profile.account_id, &profile.user_name);
    Ok(Outcome::changed(vec![Mutation::Delete {
        kind: records::IAM_LOGIN_PROFILE.to_owned(),
        expect: view.expect_current(records::IAM_LOGIN_PROFILE, &id),
        id,
    }]))
}

/// The calling IAM user changes its own password, proving the old one.
pub fn change_password(call: &Call<'_>, input: ChangeInput) -> Result<Outcome, ServiceError> {
    let caller = call.caller;
    let Some(name) = caller
        .user_name
        .as_deref()
        .filter(|_| caller.principal_type == PrincipalType::IamUser)
    else {
        return Err(ServiceError::modeled(
            "InvalidUserType",
            "Only IAM Users can change their own password.",
        ));
    };
    let (mut profile, policy, expect) = for_update(call, &caller.account_id, name)?;
    if !verify(&input.old_password, &profile.password_hash) {
        return Err(ServiceError::AccessDenied(
            "The old password was incorrect.".to_owned(),
        ));
    }
    check_rules(policy.as_ref(), &input.new_password)?;
    set_password(
        &mut profile,
        policy.as_ref(),
        &input.new_password,
        call.now.timestamp(),
    )?;
    profile.password_reset_required = false;
    Ok(Outcome::changed(vec![put(&profile, expect)?]))
}

pub fn update_policy(call: &Call<'_>, input: PolicyInput) -> Result<Outcome, ServiceError> {
    let account = &call.caller.account_id;
    let policy = PasswordPolicy {
        account_id: account.clone(),
        minimum_password_length: input.minimum_password_length.unwrap_or(6),
        require_symbols: input.require_symbols,
        require_numbers: input.require_numbers,
        require_uppercase_characters: input.require_uppercase_characters,
        require_lowercase_characters: input.require_lowercase_characters,
        allow_users_to_change_password: input.allow_users_to_change_password,
        max_password_age: input.max_password_age,
        password_reuse_prevention: input.password_reuse_prevention,
        hard_expiry: input.hard_expiry,
    };
    Ok(Outcome::changed(vec![Mutation::Put {
        kind: records::IAM_PASSWORD_POLICY.to_owned(),
        id: account.clone(),
        value: to_canonical(&policy)?,
        expect: Expect::Any,
    }]))
}

pub fn get_policy(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let policy = view
        .password_policies
        .get(account)
        .ok_or_else(|| no_policy(account))?;
    let mut out = json!({
        "MinimumPasswordLength": policy.minimum_password_length,
        "RequireSymbols": policy.require_symbols,
        "RequireNumbers": policy.require_numbers,
        "RequireUppercaseCharacters": policy.require_uppercase_characters,
        "RequireLowercaseCharacters": policy.require_lowercase_characters,
        "AllowUsersToChangePassword": policy.allow_users_to_change_password,
        "ExpirePasswords": policy.max_password_age.is_some(),
    });
    for (member, value) in [
        ("MaxPasswordAge", policy.max_password_age),
        ("PasswordReusePrevention", policy.password_reuse_prevention),
    ] {
        if let Some(value) = value {
            out[member] = json!(value);
        }
    }
    if let Some(hard) = policy.hard_expiry {
        out["HardExpiry"] = json!(hard);
    }
    Ok(Outcome::output(json!({ "PasswordPolicy": out })))
}

pub fn delete_policy(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    if !view.password_policies.contains_key(account) {
        return Err(no_policy(account));
    }
    Ok(Outcome::changed(vec![Mutation::Delete {
        kind: records::IAM_PASSWORD_POLICY.to_owned(),
        id: account.clone(),
        expect: Expect::Any,
    }]))
}

/// `AllowUsersToChangePassword`: with it, every IAM user of the account may change its
/// own password and read the password policy, as if an identity policy allowed it
/// (so an explicit deny, a permissions boundary or a session policy still refuse).
pub(crate) fn self_service_grant(
    view: &View,
    caller: &Caller,
    permission: &Permission,
    decision: &Decision,
) -> bool {
    let action = permission.action.as_str();
    let own_password =
        action.eq_ignore_ascii_case("iam:ChangePassword") && permission.resource == caller.arn;
    let read_policy = action.eq_ignore_ascii_case("iam:GetAccountPasswordPolicy");
    decision.kind == DecisionKind::ImplicitDeny
        && decision.decided_by == DecidedBy::IdentityPolicy
        && caller.principal_type == PrincipalType::IamUser
        && (own_password || read_policy)
        && view
            .password_policies
            .get(&caller.account_id)
            .is_some_and(|p| p.allow_users_to_change_password)
}

/// Whether the user has a login profile (a user with one cannot be deleted).
pub(super) fn has_profile(view: &View, account: &str, user_name: &str) -> bool {
    profile(view, account, user_name).is_some()
}

/// The mutations that move a renamed user's login profile to its new name.
pub(super) fn follow_rename(
    view: &View,
    account: &str,
    old: &str,
    new: &str,
) -> Result<Vec<Mutation>, ServiceError> {
    let Some(found) = profile(view, account, old) else {
        return Ok(Vec::new());
    };
    let mut moved = found.clone();
    moved.user_name = new.to_owned();
    // Insists on the profile read: one deleted meanwhile is not brought back.
    let old_id = records::user_id(account, old);
    let read = view.expect_current(records::IAM_LOGIN_PROFILE, &old_id);
    if old.eq_ignore_ascii_case(new) {
        return Ok(vec![put(&moved, read)?]);
    }
    Ok(vec![
        Mutation::Delete {
            kind: records::IAM_LOGIN_PROFILE.to_owned(),
            id: old_id,
            expect: read,
        },
        put(&moved, Expect::Any)?,
    ])
}

/// Why a password breaks the account's policy (or AWS's default without one), if it
/// does.
fn check_rules(policy: Option<&PasswordPolicy>, password: &str) -> Result<(), ServiceError> {
    if meets(policy, password) {
        Ok(())
    } else {
        Err(ServiceError::modeled("PasswordPolicyViolation", VIOLATION))
    }
}

/// Whether `password` meets `policy` (or AWS's default policy when there is none).
fn meets(policy: Option<&PasswordPolicy>, password: &str) -> bool {
    let length = password.chars().count();
    let upper = password.chars().any(|c| c.is_ascii_uppercase());
    let lower = password.chars().any(|c| c.is_ascii_lowercase());
    let number = password.chars().any(|c| c.is_ascii_digit());
    let symbol = password.chars().any(|c| SYMBOLS.contains(c));
    match policy {
        None => {
            let classes = [upper, lower, number, symbol]
                .iter()
                .filter(|c| **c)
                .count();
            length >= DEFAULT_MINIMUM && classes >= DEFAULT_CLASSES
        }
        Some(p) => {
            length as i64 >= p.minimum_password_length
                && (upper || !p.require_uppercase_characters)
                && (lower || !p.require_lowercase_characters)
                && (number || !p.require_numbers)
                && (symbol || !p.require_symbols)
        }
    }
}

/// Sets a new password on `profile`, refusing one of the last
/// `PasswordReusePrevention` passwords.
fn set_password(
    profile: &mut LoginProfile,
    policy: Option<&PasswordPolicy>,
    password: &str,
    now: i64,
) -> Result<(), ServiceError> {
    let remembered = policy
        .and_then(|p| p.password_reuse_prevention)
        .map_or(0, |n| n.clamp(0, HISTORY as i64) as usize);
    if remembered > 0 {
        let earlier = remembered - 1;
        let start = profile.previous_hashes.len().saturating_sub(earlier);
        let recent =
            std::iter::once(&profile.password_hash).chain(profile.previous_hashes[start..].iter());
        // Every remembered hash is checked, so that timing does not tell which matched.
        let reused = recent.fold(false, |found, h| verify(password, h) | found);
        if reused {
            return Err(ServiceError::modeled("PasswordPolicyViolation", REUSED));
        }
    }
    let old = std::mem::replace(&mut profile.password_hash, hash(password)?);
    profile.previous_hashes.push(old);
    let excess = profile.previous_hashes.len().saturating_sub(HISTORY - 1);
    profile.previous_hashes.drain(..excess);
    profile.password_changed = now;
    Ok(())
}

/// The Argon2id hash of `password`, as a PHC string with a fresh salt. Tens of
/// milliseconds of CPU ([`crate::cpu_bound::run`]): not under the view's lock.
fn hash(password: &str) -> Result<String, ServiceError> {
    let mut salt = [0u8; 16];
    rand::Rng::fill(&mut rand::rng(), &mut salt);
    let salt = SaltString::encode_b64(&salt).map_err(|e| ServiceError::Internal(e.to_string()))?;
    crate::cpu_bound::run(|| Argon2::default().hash_password(password.as_bytes(), &salt))
        .map(|h| h.to_string())
        .map_err(|e| ServiceError::Internal(e.to_string()))
}

/// Whether `password` is the one `hash` was made from. As slow as [`hash`].
fn verify(password: &str, hash: &str) -> bool {
    PasswordHash::new(hash).is_ok_and(|h| {
        crate::cpu_bound::run(|| Argon2::default().verify_password(password.as_bytes(), &h)).is_ok()
    })
}

/// An existing login profile to change, the account's password policy, and the version
/// read (which the write insists on, so that a change made meanwhile is not lost), taken
/// from the view and released before any password is hashed.
fn for_update(
    call: &Call<'_>,
    account: &str,
    user_name: &str,
) -> Result<(LoginProfile, Option<PasswordPolicy>, Expect), ServiceError> {
    let view = call.plane.view();
    let profile = existing(&view, account, user_name)?.clone();
    let id = records::user_id(&profile.account_id, &profile.user_name);
    let expect = view.expect_current(records::IAM_LOGIN_PROFILE, &id);
    let policy = view.password_policies.get(account).cloned();
    Ok((profile, policy, expect))
}

fn profile<'v>(view: &'v View, account: &str, user_name: &str) -> Option<&'v LoginProfile> {
    view.login_profiles
        .get(&records::user_id(account, user_name))
}

/// The login profile of an existing user, or NoSuchEntity (for the user, then for
/// the profile).
fn existing<'v>(
    view: &'v View,
    account: &str,
    user_name: &str,
) -> Result<&'v LoginProfile, ServiceError> {
    let user = super::users::find(view, account, user_name)?;
    profile(view, account, &user.user_name).ok_or_else(|| {
        no_such_entity(format!(
            "Login Profile for User {} cannot be found.",
            user.user_name
        ))
    })
}

fn profile_output(profile: &LoginProfile) -> Value {
    json!({
        "UserName": profile.user_name,
        "CreateDate": profile.created,
        "PasswordResetRequired": profile.password_reset_required,
    })
}

fn put(profile: &LoginProfile, expect: Expect) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: records::IAM_LOGIN_PROFILE.to_owned(),
        id: records::user_id(&profile.account_id, &profile.user_name),
        value: to_canonical(profile)?,
        expect,
    })
}

fn no_policy(account: &str) -> ServiceError {
    no_such_entity(format!(
        "The Password Policy with domain name {account} cannot be found."
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy() -> PasswordPolicy {
        PasswordPolicy {
            account_id: "123456789012".to_owned(),
            minimum_password_length: 12,
            require_symbols: true,
            require_numbers: true,
            require_uppercase_characters: true,
            require_lowercase_characters: true,
            allow_users_to_change_password: true,
            max_password_age: Some(90),
            password_reuse_prevention: Some(3),
            hard_expiry: None,
        }
    }

    #[test]
    fn the_policy_requires_each_class_it_names() {
        let p = policy();
        assert!(meets(Some(&p), "Correct-Horse9"));
        assert!(!meets(Some(&p), "Short-Hor9"), "too short");
        assert!(!meets(Some(&p), "correct-horse9"), "no upper case");
        assert!(!meets(Some(&p), "CORRECT-HORSE9"), "no lower case");
        assert!(!meets(Some(&p), "Correct-Horse!"), "no number");
        assert!(!meets(Some(&p), "CorrectHorse99"), "no symbol");
        // Only AWS's symbols count.
        assert!(!meets(Some(&p), "Correct~Horse9"));
        let lax = PasswordPolicy {
            minimum_password_length: 6,
            require_symbols: false,
            require_numbers: false,
            require_uppercase_characters: false,
            require_lowercase_characters: false,
            ..policy()
        };
        assert!(meets(Some(&lax), "aaaaaa"));
        assert!(!meets(Some(&lax), "aaaaa"));
    }

    #[test]
    fn without_a_policy_awss_default_applies() {
        assert!(meets(None, "Abcdefg1"));
        assert!(meets(None, "abcdef1!"));
        assert!(!meets(None, "Abcdef1"), "seven characters");
        assert!(!meets(None, "abcdefgh1"), "two classes");
    }

    #[test]
    fn hashes_verify_only_their_password() {
        let h = hash("Correct-Horse9").unwrap();
        assert!(h.starts_with("$argon2id$"));
        assert!(!h.contains("Correct-Horse9"));
        assert!(verify("Correct-Horse9", &h));
        assert!(!verify("Correct-Horse8", &h));
        assert!(!verify("Correct-Horse9", "not a hash"));
        assert_ne!(hash("Correct-Horse9").unwrap(), h, "salted");
    }

    #[test]
    fn reuse_prevention_remembers_the_last_passwords() {
        let p = PasswordPolicy {
            password_reuse_prevention: Some(2),
            ..policy()
        };
        let mut profile = LoginProfile {
            account_id: "123456789012".to_owned(),
            user_name: "alice".to_owned(),
            created: 0,
            password_hash: hash("first").unwrap(),
            password_reset_required: false,
            password_changed: 0,
            previous_hashes: Vec::new(),
        };
        assert!(set_password(&mut profile, Some(&p), "first", 1).is_err());
        set_password(&mut profile, Some(&p), "second", 2).unwrap();
        assert!(set_password(&mut profile, Some(&p), "second", 3).is_err());
        assert!(set_password(&mut profile, Some(&p), "first", 3).is_err());
        set_password(&mut profile, Some(&p), "third", 4).unwrap();
        // "first" is now three passwords ago: allowed again.
        set_password(&mut profile, Some(&p), "first", 5).unwrap();
        assert!(verify("first", &profile.password_hash));
        assert_eq!(profile.password_changed, 5);
        // Without reuse prevention the same password may be set again.
        set_password(&mut profile, None, "first", 6).unwrap();
    }
}
