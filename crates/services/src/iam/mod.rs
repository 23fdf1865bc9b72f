//! AWS Identity and Access Management: users, groups, roles, instance profiles,
//! managed and inline policies, permissions boundaries, tags and access keys.
//!
//! Operations that are the same for several kinds of entity (inline and attached
//! policies, tags) are written once over the traits in [`entity`].

pub(crate) mod access_keys;
mod account_aliases;
mod entity;
mod groups;
mod instance_profiles;
pub(crate) mod mfa;
pub(crate) mod passwords;
mod permissions;
mod policies;
mod principals;
pub mod providers;
mod reports;
mod roles;
mod simulate;
mod tags;
mod totp;
mod users;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};

use crate::paging;
use rampart_policy::PolicyType;

use crate::call::{Call, Outcome, from_canonical};
use crate::caller::PrincipalType;
use crate::error::ServiceError;
use crate::records::{Group, InstanceProfile, Role, User};

/// The IAM operations rampart serves.
pub async fn handle(
    operation: &str,
    call: &Call<'_>,
    input: serde_json::Value,
) -> Result<Outcome, ServiceError> {
    use permissions as p;
    let i = input;
    match operation {
        "CreateUser" => users::create(call, from_canonical(i)?),
        "GetUser" => users::get(call, from_canonical(i)?),
        "ListUsers" => users::list(call, from_canonical(i)?),
        "UpdateUser" => users::update(call, from_canonical(i)?),
        "DeleteUser" => users::delete(call, from_canonical(i)?),
        "CreateAccessKey" => access_keys::create(call, from_canonical(i)?),
        "UpdateAccessKey" => access_keys::update(call, from_canonical(i)?),
        "DeleteAccessKey" => access_keys::delete(call, from_canonical(i)?),
        "ListAccessKeys" => access_keys::list(call, from_canonical(i)?),
        "GetAccessKeyLastUsed" => access_keys::last_used(call, from_canonical(i)?).await,
        "CreateGroup" => groups::create(call, from_canonical(i)?),
        "GetGroup" => groups::get(call, from_canonical(i)?),
        "ListGroups" => groups::list(call, from_canonical(i)?),
        "UpdateGroup" => groups::update(call, from_canonical(i)?),
        "DeleteGroup" => groups::delete(call, from_canonical(i)?),
        "AddUserToGroup" => groups::add_user(call, from_canonical(i)?),
        "RemoveUserFromGroup" => groups::remove_user(call, from_canonical(i)?),
        "ListGroupsForUser" => groups::list_for_user(call, from_canonical(i)?),
        "CreateRole" => roles::create(call, from_canonical(i)?),
        "GetRole" => roles::get(call, from_canonical(i)?),
        "ListRoles" => roles::list(call, from_canonical(i)?),
        "UpdateRole" => roles::update(call, from_canonical(i)?),
        "UpdateRoleDescription" => roles::update_description(call, from_canonical(i)?),
        "UpdateAssumeRolePolicy" => roles::update_trust(call, from_canonical(i)?),
        "DeleteRole" => roles::delete(call, from_canonical(i)?),
        "CreatePolicy" => policies::create(call, from_canonical(i)?),
        "GetPolicy" => policies::get(call, from_canonical(i)?),
        "ListPolicies" => policies::list(call, from_canonical(i)?),
        "DeletePolicy" => policies::delete(call, from_canonical(i)?),
        "CreatePolicyVersion" => policies::create_version(call, from_canonical(i)?),
        "GetPolicyVersion" => policies::get_version(call, from_canonical(i)?),
        "ListPolicyVersions" => policies::list_versions(call, from_canonical(i)?),
        "DeletePolicyVersion" => policies::delete_version(call, from_canonical(i)?),
        "SetDefaultPolicyVersion" => policies::set_default_version(call, from_canonical(i)?),
        "ListEntitiesForPolicy" => policies::list_entities(call, from_canonical(i)?),
        "PutUserPolicy" => p::put_inline::<User>(call, from_canonical(i)?),
        "PutGroupPolicy" => p::put_inline::<Group>(call, from_canonical(i)?),
        "PutRolePolicy" => p::put_inline::<Role>(call, from_canonical(i)?),
        "GetUserPolicy" => p::get_inline::<User>(call, from_canonical(i)?),
        "GetGroupPolicy" => p::get_inline::<Group>(call, from_canonical(i)?),
        "GetRolePolicy" => p::get_inline::<Role>(call, from_canonical(i)?),
        "DeleteUserPolicy" => p::delete_inline::<User>(call, from_canonical(i)?),
        "DeleteGroupPolicy" => p::delete_inline::<Group>(call, from_canonical(i)?),
        "DeleteRolePolicy" => p::delete_inline::<Role>(call, from_canonical(i)?),
        "ListUserPolicies" => p::list_inline::<User>(call, from_canonical(i)?),
        "ListGroupPolicies" => p::list_inline::<Group>(call, from_canonical(i)?),
        "ListRolePolicies" => p::list_inline::<Role>(call, from_canonical(i)?),
        "AttachUserPolicy" => p::attach::<User>(call, from_canonical(i)?),
        "AttachGroupPolicy" => p::attach::<Group>(call, from_canonical(i)?),
        "AttachRolePolicy" => p::attach::<Role>(call, from_canonical(i)?),
        "DetachUserPolicy" => p::detach::<User>(call, from_canonical(i)?),
        "DetachGroupPolicy" => p::detach::<Group>(call, from_canonical(i)?),
        "DetachRolePolicy" => p::detach::<Role>(call, from_canonical(i)?),
        "ListAttachedUserPolicies" => p::list_attached::<User>(call, from_canonical(i)?),
        "ListAttachedGroupPolicies" => p::list_attached::<Group>(call, from_canonical(i)?),
        "ListAttachedRolePolicies" => p::list_attached::<Role>(call, from_canonical(i)?),
        "PutUserPermissionsBoundary" => p::put_boundary::<User>(call, from_canonical(i)?),
        "PutRolePermissionsBoundary" => p::put_boundary::<Role>(call, from_canonical(i)?),
        "DeleteUserPermissionsBoundary" => p::delete_boundary::<User>(call, from_canonical(i)?),
        "DeleteRolePermissionsBoundary" => p::delete_boundary::<Role>(call, from_canonical(i)?),
        "TagUser" => tags::tag::<User>(call, from_canonical(i)?),
        "TagRole" => tags::tag::<Role>(call, from_canonical(i)?),
        "TagInstanceProfile" => tags::tag::<InstanceProfile>(call, from_canonical(i)?),
        "TagPolicy" => policies::tag(call, from_canonical(i)?),
        "UntagUser" => tags::untag::<User>(call, from_canonical(i)?),
        "UntagRole" => tags::untag::<Role>(call, from_canonical(i)?),
        "UntagInstanceProfile" => tags::untag::<InstanceProfile>(call, from_canonical(i)?),
        "UntagPolicy" => policies::untag(call, from_canonical(i)?),
        "ListUserTags" => tags::list::<User>(call, from_canonical(i)?),
        "ListRoleTags" => tags::list::<Role>(call, from_canonical(i)?),
        "ListInstanceProfileTags" => tags::list::<InstanceProfile>(call, from_canonical(i)?),
        "ListPolicyTags" => policies::list_tags(call, from_canonical(i)?),
        "CreateInstanceProfile" => instance_profiles::create(call, from_canonical(i)?),
        "GetInstanceProfile" => instance_profiles::get(call, from_canonical(i)?),
        "DeleteInstanceProfile" => instance_profiles::delete(call, from_canonical(i)?),
        "ListInstanceProfiles" => instance_profiles::list(call, from_canonical(i)?),
        "AddRoleToInstanceProfile" => instance_profiles::add_role(call, from_canonical(i)?),
        "RemoveRoleFromInstanceProfile" => instance_profiles::remove_role(call, from_canonical(i)?),
        "ListInstanceProfilesForRole" => instance_profiles::list_for_role(call, from_canonical(i)?),
        "CreateOpenIDConnectProvider" => providers::create_oidc(call, from_canonical(i)?),
        "GetOpenIDConnectProvider" => providers::get_oidc(call, from_canonical(i)?),
        "ListOpenIDConnectProviders" => providers::list_oidc(call),
        "DeleteOpenIDConnectProvider" => providers::delete_oidc(call, from_canonical(i)?),
        "AddClientIDToOpenIDConnectProvider" => providers::add_client_id(call, from_canonical(i)?),
        "RemoveClientIDFromOpenIDConnectProvider" => {
            providers::remove_client_id(call, from_canonical(i)?)
        }
        "UpdateOpenIDConnectProviderThumbprint" => {
            providers::update_thumbprints(call, from_canonical(i)?)
        }
        "TagOpenIDConnectProvider" => providers::tag_oidc(call, from_canonical(i)?),
        "UntagOpenIDConnectProvider" => providers::untag_oidc(call, from_canonical(i)?),
        "ListOpenIDConnectProviderTags" => providers::list_oidc_tags(call, from_canonical(i)?),
        "CreateSAMLProvider" => providers::create_saml(call, from_canonical(i)?),
        "GetSAMLProvider" => providers::get_saml(call, from_canonical(i)?),
        "ListSAMLProviders" => providers::list_saml(call),
        "UpdateSAMLProvider" => providers::update_saml(call, from_canonical(i)?),
        "DeleteSAMLProvider" => providers::delete_saml(call, from_canonical(i)?),
        "TagSAMLProvider" => providers::tag_saml(call, from_canonical(i)?),
        "UntagSAMLProvider" => providers::untag_saml(call, from_canonical(i)?),
        "ListSAMLProviderTags" => providers::list_saml_tags(call, from_canonical(i)?),
        "CreateVirtualMFADevice" => mfa::create(call, from_canonical(i)?),
        "EnableMFADevice" => mfa::enable(call, from_canonical(i)?),
        "ResyncMFADevice" => mfa::resync(call, from_canonical(i)?),
        "DeactivateMFADevice" => mfa::deactivate(call, from_canonical(i)?),
        "DeleteVirtualMFADevice" => mfa::delete(call, from_canonical(i)?),
        "ListMFADevices" => mfa::list(call, from_canonical(i)?),
        "ListVirtualMFADevices" => mfa::list_virtual(call, from_canonical(i)?),
        "GetMFADevice" => mfa::get(call, from_canonical(i)?),
        "TagMFADevice" => mfa::tag(call, from_canonical(i)?),
        "UntagMFADevice" => mfa::untag(call, from_canonical(i)?),
        "ListMFADeviceTags" => mfa::list_tags(call, from_canonical(i)?),
        "CreateLoginProfile" => passwords::create_login_profile(call, from_canonical(i)?),
        "GetLoginProfile" => passwords::get_login_profile(call, from_canonical(i)?),
        "UpdateLoginProfile" => passwords::update_login_profile(call, from_canonical(i)?),
        "DeleteLoginProfile" => passwords::delete_login_profile(call, from_canonical(i)?),
        "ChangePassword" => passwords::change_password(call, from_canonical(i)?),
        "UpdateAccountPasswordPolicy" => passwords::update_policy(call, from_canonical(i)?),
        "GetAccountPasswordPolicy" => passwords::get_policy(call),
        "DeleteAccountPasswordPolicy" => passwords::delete_policy(call),
        "CreateAccountAlias" => account_aliases::create(call, from_canonical(i)?),
        "DeleteAccountAlias" => account_aliases::delete(call, from_canonical(i)?),
        "ListAccountAliases" => account_aliases::list(call, from_canonical(i)?),
        "SimulatePrincipalPolicy" => simulate::simulate_principal(call, from_canonical(i)?),
        "SimulateCustomPolicy" => simulate::simulate_custom(call, from_canonical(i)?),
        "GetContextKeysForPrincipalPolicy" => {
            simulate::context_keys_for_principal(call, from_canonical(i)?)
        }
        "GetContextKeysForCustomPolicy" => {
            simulate::context_keys_for_custom(call, from_canonical(i)?)
        }
        "GenerateCredentialReport" => reports::generate_credential_report(call).await,
        "GetCredentialReport" => reports::get_credential_report(call),
        "GetAccountSummary" => reports::get_account_summary(call),
        "GetAccountAuthorizationDetails" => {
            reports::get_account_authorization_details(call, from_canonical(i)?)
        }
        "GenerateServiceLastAccessedDetails" => {
            reports::generate_service_last_accessed(call, from_canonical(i)?).await
        }
        "GetServiceLastAccessedDetails" => {
            reports::get_service_last_accessed(call, from_canonical(i)?)
        }
        _ => Err(ServiceError::not_implemented("iam", operation)),
    }
}

/// IAM's `NoSuchEntity` (404).
fn no_such_entity(message: String) -> ServiceError {
    ServiceError::modeled("NoSuchEntity", message)
}

/// IAM's `EntityAlreadyExists` (409).
fn already_exists(message: String) -> ServiceError {
    ServiceError::modeled("EntityAlreadyExists", message)
}

/// IAM's `DeleteConflict` (409).
fn delete_conflict(message: &str) -> ServiceError {
    ServiceError::modeled("DeleteConflict", message.to_owned())
}

/// IAM's `LimitExceeded` (409) for the quota `name`.
fn limit_exceeded(name: &str, quota: usize) -> ServiceError {
    ServiceError::modeled(
        "LimitExceeded",
        format!("Cannot exceed quota for {name}: {quota}"),
    )
}

/// Checks a policy document for `ty`, with AWS's MalformedPolicyDocument message.
fn check_document(document: &str, ty: PolicyType) -> Result<(), ServiceError> {
    rampart_policy::parse(document, ty)
        .map(drop)
        .map_err(|e| ServiceError::modeled("MalformedPolicyDocument", e.message().to_owned()))
}

/// A policy document as IAM returns it: URL-encoded (clients decode it).
fn encode_document(document: &str) -> String {
    utf8_percent_encode(document, NON_ALPHANUMERIC).to_string()
}

/// The user a call names, or the calling user when it names none (as IAM resolves
/// `UserName` in user, access key and group-membership operations).
fn target_user_name<'a>(
    call: &'a Call<'_>,
    named: Option<&'a str>,
) -> Result<&'a str, ServiceError> {
    let own = match call.caller.principal_type {
        PrincipalType::IamUser => call.caller.user_name.as_deref(),
        _ => None,
    };
    named.or(own).ok_or_else(|| {
        ServiceError::Validation(
            "Must specify userName when calling with non-User credentials".to_owned(),
        )
    })
}

/// The entity count quota of an account for one kind (AWS's default quotas).
fn check_count(count: usize, name: &str, quota: usize) -> Result<(), ServiceError> {
    if count >= quota {
        return Err(limit_exceeded(name, quota));
    }
    Ok(())
}
