//! AWS Organizations: a management account that creates and invites member accounts,
//! groups them into organizational units under one root, and sets guardrails on them
//! with service and resource control policies.
//!
//! Every member account is a real rampart account with its own root user and IAM
//! namespace; accounts created here get the `OrganizationAccountAccessRole` that the
//! management account can assume. The guardrails themselves are compiled in the view
//! ([`crate::view::organizations`]) and applied to every request by
//! [`crate::authorize`].
//!
//! - `structure`: the organization, its root, accounts and OUs;
//! - `policies`: policies, policy types, attachments and effective policies;
//! - `handshakes`: invitations;
//! - `service_access`: trusted access for AWS services, and the services an account is
//!   a delegated administrator for.

mod handshakes;
mod policies;
mod service_access;
mod structure;

use serde_json::{Value, json};

use crate::call::{Call, Outcome, from_canonical};
use crate::error::ServiceError;
use crate::records::{Account, Organization, Tag};
use crate::view::View;

/// AWS's default quota of accounts in an organization.
const ACCOUNTS_PER_ORGANIZATION: usize = 10;

/// The Organizations operations rampart serves.
pub async fn handle(
    operation: &str,
    call: &Call<'_>,
    input: Value,
) -> Result<Outcome, ServiceError> {
    use structure as s;
    let i = input;
    match operation {
        "CreateOrganization" => s::create_organization(call, from_canonical(i)?),
        "DescribeOrganization" => s::describe_organization(call),
        "DeleteOrganization" => s::delete_organization(call),
        "ListRoots" => s::list_roots(call, from_canonical(i)?),
        "CreateAccount" => s::create_account(call, from_canonical(i)?),
        "DescribeCreateAccountStatus" => {
            s::describe_create_account_status(call, from_canonical(i)?)
        }
        "ListCreateAccountStatus" => s::list_create_account_status(call, from_canonical(i)?),
        "DescribeAccount" => s::describe_account(call, from_canonical(i)?),
        "ListAccounts" => s::list_accounts(call, from_canonical(i)?),
        "ListAccountsForParent" => s::list_accounts_for_parent(call, from_canonical(i)?),
        "MoveAccount" => s::move_account(call, from_canonical(i)?),
        "CloseAccount" => s::close_account(call, from_canonical(i)?),
        "RemoveAccountFromOrganization" => s::remove_account(call, from_canonical(i)?),
        "LeaveOrganization" => s::leave_organization(call),
        "CreateOrganizationalUnit" => s::create_ou(call, from_canonical(i)?),
        "DescribeOrganizationalUnit" => s::describe_ou(call, from_canonical(i)?),
        "UpdateOrganizationalUnit" => s::update_ou(call, from_canonical(i)?),
        "DeleteOrganizationalUnit" => s::delete_ou(call, from_canonical(i)?),
        "ListOrganizationalUnitsForParent" => s::list_ous_for_parent(call, from_canonical(i)?),
        "ListChildren" => s::list_children(call, from_canonical(i)?),
        "ListParents" => s::list_parents(call, from_canonical(i)?),
        "RegisterDelegatedAdministrator" => s::register_delegated_admin(call, from_canonical(i)?),
        "DeregisterDelegatedAdministrator" => {
            s::deregister_delegated_admin(call, from_canonical(i)?)
        }
        "ListDelegatedAdministrators" => s::list_delegated_admins(call, from_canonical(i)?),
        "ListDelegatedServicesForAccount" => {
            service_access::delegated_services(call, from_canonical(i)?)
        }
        "EnableAWSServiceAccess" => service_access::enable(call, from_canonical(i)?),
        "DisableAWSServiceAccess" => service_access::disable(call, from_canonical(i)?),
        "ListAWSServiceAccessForOrganization" => service_access::list(call, from_canonical(i)?),
        "TagResource" => s::tag_resource(call, from_canonical(i)?),
        "UntagResource" => s::untag_resource(call, from_canonical(i)?),
        "ListTagsForResource" => s::list_tags(call, from_canonical(i)?),
        "EnablePolicyType" => policies::enable_type(call, from_canonical(i)?),
        "DisablePolicyType" => policies::disable_type(call, from_canonical(i)?),
        "CreatePolicy" => policies::create(call, from_canonical(i)?),
        "DescribePolicy" => policies::describe(call, from_canonical(i)?),
        "UpdatePolicy" => policies::update(call, from_canonical(i)?),
        "DeletePolicy" => policies::delete(call, from_canonical(i)?),
        "ListPolicies" => policies::list(call, from_canonical(i)?),
        "AttachPolicy" => policies::attach(call, from_canonical(i)?),
        "DetachPolicy" => policies::detach(call, from_canonical(i)?),
        "ListPoliciesForTarget" => policies::list_for_target(call, from_canonical(i)?),
        "ListTargetsForPolicy" => policies::list_targets(call, from_canonical(i)?),
        "DescribeEffectivePolicy" => policies::describe_effective(call, from_canonical(i)?),
        "InviteAccountToOrganization" => handshakes::invite(call, from_canonical(i)?),
        "AcceptHandshake" => handshakes::accept(call, from_canonical(i)?),
        "DeclineHandshake" => handshakes::decline(call, from_canonical(i)?),
        "CancelHandshake" => handshakes::cancel(call, from_canonical(i)?),
        "DescribeHandshake" => handshakes::describe(call, from_canonical(i)?),
        "ListHandshakesForAccount" => handshakes::list_for_account(call, from_canonical(i)?),
        "ListHandshakesForOrganization" => {
            handshakes::list_for_organization(call, from_canonical(i)?)
        }
        _ => Err(ServiceError::not_implemented("organizations", operation)),
    }
}

/// The organization the caller's account belongs to, or AWSOrganizationsNotInUse.
fn organization<'v>(view: &'v View, call: &Call<'_>) -> Result<&'v Organization, ServiceError> {
    view.accounts
        .get(&call.caller.account_id)
        .and_then(|a| view.org.organization_of(a))
        .ok_or_else(|| {
            ServiceError::modeled(
                "AWSOrganizationsNotInUseException",
                "Your account is not a member of an organization.",
            )
        })
}

/// The caller's organization, when the caller is its management account (or a
/// delegated administrator, for the operations AWS delegates); else AccessDenied.
fn managed<'v>(view: &'v View, call: &Call<'_>) -> Result<&'v Organization, ServiceError> {
    let org = organization(view, call)?;
    if org.management_account_id != call.caller.account_id {
        return Err(access_denied());
    }
    Ok(org)
}

fn access_denied() -> ServiceError {
    ServiceError::modeled(
        "AccessDeniedException",
        "You don't have permissions to access this resource.",
    )
}

/// An account of `org`, or AccountNotFound.
fn member<'v>(
    view: &'v View,
    org: &Organization,
    account_id: &str,
) -> Result<&'v Account, ServiceError> {
    view.accounts
        .get(account_id)
        .filter(|a| {
            a.membership
                .as_ref()
                .is_some_and(|m| m.organization_id == org.id)
        })
        .ok_or_else(|| {
            ServiceError::modeled(
                "AccountNotFoundException",
                "You specified an account that doesn't exist.",
            )
        })
}

/// `arn:aws:organizations::MANAGEMENT:KIND/ORG/...`.
fn arn(org: &Organization, rest: &str) -> String {
    format!(
        "arn:aws:organizations::{}:{rest}",
        org.management_account_id
    )
}

/// The `Account` output shape.
fn account_output(org: &Organization, account: &Account) -> Value {
    let membership = account.membership.as_ref();
    json!({
        "Id": account.account_id,
        "Arn": arn(org, &format!("account/{}/{}", org.id, account.account_id)),
        "Email": email(account),
        "Name": account.name,
        "Status": membership.map_or("ACTIVE", |m| status_of(&m.state)),
        "State": membership.map_or("ACTIVE", |m| m.state.as_str()),
        "JoinedMethod": membership.map_or("CREATED", |m| m.joined_method.as_str()),
        "JoinedTimestamp": membership.map_or(account.created, |m| m.joined),
    })
}

/// The legacy `Status` for a `State`.
fn status_of(state: &str) -> &'static str {
    match state {
        "SUSPENDED" | "CLOSED" => "SUSPENDED",
        "PENDING_CLOSURE" => "PENDING_CLOSURE",
        _ => "ACTIVE",
    }
}

/// The account's email; accounts made by `rampart init` have none, and get a
/// placeholder under a reserved domain.
fn email(account: &Account) -> String {
    account
        .email
        .clone()
        .unwrap_or_else(|| format!("{}@rampart.invalid", account.account_id))
}

/// Tags given at creation: at most 50, no key twice.
fn check_tags(tags: &[Tag]) -> Result<(), ServiceError> {
    for (i, tag) in tags.iter().enumerate() {
        if tags[..i].iter().any(|t| t.key == tag.key) {
            return Err(ServiceError::with_reason(
                "InvalidInputException",
                "DUPLICATE_TAG_KEY",
                "You provided a duplicate tag key.",
            ));
        }
    }
    if tags.len() > 50 {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "TAG_POLICY_VIOLATION",
            "You have exceeded the number of tags allowed on this resource.",
        ));
    }
    Ok(())
}
