//! The organization's structure: the organization and its root, member accounts
//! (created or invited), organizational units nested at most five deep, delegated
//! administrators and tags.

use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::{Value, json};

use super::{
    ACCOUNTS_PER_ORGANIZATION, access_denied, account_output, arn, check_tags, email, managed,
    member, organization,
};
use crate::call::{Call, Outcome, to_canonical};
use crate::error::ServiceError;
use crate::ids::{self, IdPrefix};
use crate::paging::TokenPaging;
use crate::records::{
    self, Account, CreateAccountRequest, Membership, Organization, OrganizationalUnit, Permissions,
    Role, Tag,
};
use crate::view::View;
use crate::view::organizations::{RCP, SCP};

/// AWS's default quotas.
const OU_DEPTH: usize = 5;
const OUS_PER_ORGANIZATION: usize = 1000;
/// The role CreateAccount makes in the new account unless told another name.
const ACCESS_ROLE: &str = "OrganizationAccountAccessRole";

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOrganizationInput {
    feature_set: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountInput {
    email: String,
    account_name: String,
    role_name: Option<String>,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateAccountStatusInput {
    create_account_request_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListCreateAccountStatusInput {
    #[serde(default)]
    states: Vec<String>,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AccountInput {
    account_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    #[serde(flatten)]
    pub(super) paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ParentInput {
    parent_id: String,
    child_type: Option<String>,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ChildInput {
    child_id: String,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MoveAccountInput {
    account_id: String,
    source_parent_id: String,
    destination_parent_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateOuInput {
    parent_id: String,
    name: String,
    #[serde(default)]
    tags: Vec<Tag>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct OuInput {
    organizational_unit_id: String,
    name: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DelegatedAdminInput {
    account_id: String,
    service_principal: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListDelegatedAdminsInput {
    service_principal: Option<String>,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagInput {
    resource_id: String,
    #[serde(default)]
    tags: Vec<Tag>,
    #[serde(default)]
    tag_keys: Vec<String>,
    #[serde(flatten)]
    paging: TokenPaging,
}

pub fn create_organization(
    call: &Call<'_>,
    input: CreateOrganizationInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account_id = &call.caller.account_id;
    let mut account = view
        .accounts
        .get(account_id)
        .cloned()
        .ok_or_else(access_denied)?;
    if account.membership.is_some() {
        return Err(ServiceError::modeled(
            "AlreadyInOrganizationException",
            "The AWS account is already a member of an organization.",
        ));
    }
    let now = call.now.timestamp();
    let org = Organization {
        id: ids::new_org_id("o-", 10),
        management_account_id: account_id.clone(),
        feature_set: input.feature_set.unwrap_or_else(|| "ALL".to_owned()),
        root_id: ids::new_org_id("r-", 4),
        created: now,
        enabled_policy_types: Vec::new(),
        root_policies: Vec::new(),
        root_tags: Vec::new(),
        delegated_administrators: Vec::new(),
        service_access: Vec::new(),
    };
    account.membership = Some(Membership {
        organization_id: org.id.clone(),
        parent_id: org.root_id.clone(),
        joined_method: "INVITED".to_owned(),
        joined: now,
        state: "ACTIVE".to_owned(),
        policies: Vec::new(),
        tags: Vec::new(),
    });
    Ok(Outcome {
        output: json!({ "Organization": organization_output(&view, &org) }),
        mutations: vec![
            put(records::ORGANIZATION, &org.id, &org, Expect::Absent)?,
            write_back(&view, records::ACCOUNT, &account.account_id, &account)?,
        ],
    })
}

pub fn describe_organization(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = organization(&view, call)?;
    Ok(Outcome::output(
        json!({ "Organization": organization_output(&view, org) }),
    ))
}

/// Deletes an organization that has no member accounts left.
pub fn delete_organization(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    if accounts_of(&view, org).any(|a| a.account_id != org.management_account_id) {
        return Err(ServiceError::modeled(
            "OrganizationNotEmptyException",
            "The organization isn't empty. Before you can delete an organization, you must remove all accounts except the management account.",
        ));
    }
    let mut mutations = vec![delete(records::ORGANIZATION, &org.id)];
    for ou in view
        .org
        .units
        .values()
        .filter(|u| u.organization_id == org.id)
    {
        mutations.push(delete(records::ORG_UNIT, &ou.id));
    }
    for policy in view
        .org
        .policies
        .values()
        .filter(|p| p.organization_id == org.id)
    {
        mutations.push(delete(records::ORG_POLICY, &policy.id));
    }
    if let Some(mut management) = view.accounts.get(&org.management_account_id).cloned() {
        management.membership = None;
        mutations.push(write_back(
            &view,
            records::ACCOUNT,
            &management.account_id,
            &management,
        )?);
    }
    Ok(Outcome::changed(mutations))
}

pub fn list_roots(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let roots = [root_output(org)];
    let page = input
        .paging
        .page(&roots, |_| String::new(), "Roots", Value::clone)?;
    Ok(Outcome::output(page))
}

/// Creates a member account with its root user and the role through which the
/// management account administers it. The request completes at once; its status
/// says so from the first DescribeCreateAccountStatus.
pub fn create_account(call: &Call<'_>, input: CreateAccountInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    check_tags(&input.tags)?;
    let now = call.now.timestamp();
    let mut request = CreateAccountRequest {
        id: ids::new_org_id("car-", 32),
        organization_id: org.id.clone(),
        account_name: input.account_name.clone(),
        state: "SUCCEEDED".to_owned(),
        requested: now,
        completed: Some(now),
        account_id: None,
        failure_reason: None,
    };
    let response = json!({ "CreateAccountStatus": {
        "Id": request.id, "AccountName": request.account_name,
        "State": "IN_PROGRESS", "RequestedTimestamp": now,
    }});
    let email_taken = view.accounts.values().any(|a| {
        a.email
            .as_deref()
            .is_some_and(|e| e.eq_ignore_ascii_case(&input.email))
    });
    let failure = if email_taken {
        Some("EMAIL_ALREADY_EXISTS")
    } else if accounts_of(&view, org).count() >= ACCOUNTS_PER_ORGANIZATION {
        Some("ACCOUNT_LIMIT_EXCEEDED")
    } else {
        None
    };
    if let Some(reason) = failure {
        request.state = "FAILED".to_owned();
        request.failure_reason = Some(reason.to_owned());
        return Ok(Outcome {
            output: response,
            mutations: vec![put(
                records::ORG_CREATE_ACCOUNT,
                &request.id,
                &request,
                Expect::Absent,
            )?],
        });
    }
    let account_id = loop {
        let id = ids::new_account_id();
        if !view.accounts.contains_key(&id) {
            break id;
        }
    };
    request.account_id = Some(account_id.clone());
    let account = Account {
        account_id: account_id.clone(),
        name: input.account_name,
        created: now,
        email: Some(input.email),
        membership: Some(Membership {
            organization_id: org.id.clone(),
            parent_id: org.root_id.clone(),
            joined_method: "CREATED".to_owned(),
            joined: now,
            state: "ACTIVE".to_owned(),
            policies: default_policies(org),
            tags: input.tags,
        }),
    };
    let role = access_role(
        &account_id,
        &org.management_account_id,
        input.role_name.as_deref().unwrap_or(ACCESS_ROLE),
        now,
    );
    Ok(Outcome {
        output: response,
        mutations: vec![
            put(records::ACCOUNT, &account_id, &account, Expect::Absent)?,
            put(
                records::IAM_ROLE,
                &records::entity_id(&account_id, &role.role_name),
                &role,
                Expect::Absent,
            )?,
            put(
                records::ORG_CREATE_ACCOUNT,
                &request.id,
                &request,
                Expect::Absent,
            )?,
        ],
    })
}

pub fn describe_create_account_status(
    call: &Call<'_>,
    input: CreateAccountStatusInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let request = view
        .org
        .create_requests
        .get(&input.create_account_request_id)
        .filter(|r| r.organization_id == org.id)
        .ok_or_else(|| {
            ServiceError::modeled(
                "CreateAccountStatusNotFoundException",
                "We can't find an create account request with the CreateAccountRequestId that you specified.",
            )
        })?;
    Ok(Outcome::output(
        json!({ "CreateAccountStatus": create_status_output(request) }),
    ))
}

pub fn list_create_account_status(
    call: &Call<'_>,
    input: ListCreateAccountStatusInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut requests: Vec<&CreateAccountRequest> = view
        .org
        .create_requests
        .values()
        .filter(|r| r.organization_id == org.id)
        .filter(|r| input.states.is_empty() || input.states.contains(&r.state))
        .collect();
    requests.sort_by(|a, b| (a.requested, &a.id).cmp(&(b.requested, &b.id)));
    let page = input.paging.page(
        &requests,
        |r| format!("{:020}/{}", r.requested, r.id),
        "CreateAccountStatuses",
        |r| create_status_output(r),
    )?;
    Ok(Outcome::output(page))
}

pub fn describe_account(call: &Call<'_>, input: AccountInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let account = member(&view, org, &input.account_id)?;
    Ok(Outcome::output(
        json!({ "Account": account_output(org, account) }),
    ))
}

pub fn list_accounts(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut accounts: Vec<&Account> = accounts_of(&view, org).collect();
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let page = input.paging.page(
        &accounts,
        |a| a.account_id.clone(),
        "Accounts",
        |a| account_output(org, a),
    )?;
    Ok(Outcome::output(page))
}

pub fn list_accounts_for_parent(
    call: &Call<'_>,
    input: ParentInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    check_parent(&view, org, &input.parent_id, "ParentNotFoundException")?;
    let mut accounts: Vec<&Account> = accounts_of(&view, org)
        .filter(|a| parent_of(a) == Some(input.parent_id.as_str()))
        .collect();
    accounts.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let page = input.paging.page(
        &accounts,
        |a| a.account_id.clone(),
        "Accounts",
        |a| account_output(org, a),
    )?;
    Ok(Outcome::output(page))
}

pub fn move_account(call: &Call<'_>, input: MoveAccountInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut account = member(&view, org, &input.account_id)?.clone();
    check_parent(
        &view,
        org,
        &input.source_parent_id,
        "SourceParentNotFoundException",
    )?;
    check_parent(
        &view,
        org,
        &input.destination_parent_id,
        "DestinationParentNotFoundException",
    )?;
    let membership = account.membership.as_mut().ok_or_else(access_denied)?;
    if membership.parent_id != input.source_parent_id {
        return Err(ServiceError::modeled(
            "AccountNotFoundException",
            "You specified an account that doesn't exist.",
        ));
    }
    if membership.parent_id == input.destination_parent_id {
        return Err(ServiceError::modeled(
            "DuplicateAccountException",
            "That account is already present in the specified destination.",
        ));
    }
    membership.parent_id = input.destination_parent_id;
    Ok(Outcome::changed(vec![write_back(
        &view,
        records::ACCOUNT,
        &account.account_id,
        &account,
    )?]))
}

/// Starts closing a member account: it is PENDING_CLOSURE, then SUSPENDED.
pub fn close_account(call: &Call<'_>, input: AccountInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut account = member(&view, org, &input.account_id)?.clone();
    if account.account_id == org.management_account_id {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "CANNOT_CLOSE_MANAGEMENT_ACCOUNT",
            "You can't close the management account of an organization with this operation.",
        ));
    }
    if let Some(m) = account.membership.as_mut() {
        if m.state != "ACTIVE" {
            return Err(ServiceError::modeled(
                "AccountAlreadyClosedException",
                "You attempted to close an account that is already closed.",
            ));
        }
        m.state = "PENDING_CLOSURE".to_owned();
    }
    Ok(Outcome::changed(vec![write_back(
        &view,
        records::ACCOUNT,
        &account.account_id,
        &account,
    )?]))
}

pub fn remove_account(call: &Call<'_>, input: AccountInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let account = member(&view, org, &input.account_id)?.clone();
    if account.account_id == org.management_account_id {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "ACCOUNT_CANNOT_LEAVE_ORGANIZATION",
            "You can't remove the management account from an organization.",
        ));
    }
    leave(&view, org, account)
}

pub fn leave_organization(call: &Call<'_>) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = organization(&view, call)?;
    if org.management_account_id == call.caller.account_id {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "ACCOUNT_CANNOT_LEAVE_ORGANIZATION",
            "You can't remove the management account from an organization. Delete the organization instead.",
        ));
    }
    let account = member(&view, org, &call.caller.account_id)?.clone();
    leave(&view, org, account)
}

/// An account leaves `org`, and stops being its delegated administrator.
fn leave(view: &View, org: &Organization, mut account: Account) -> Result<Outcome, ServiceError> {
    if org
        .delegated_administrators
        .iter()
        .any(|(a, _, _)| *a == account.account_id)
    {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "CANNOT_REMOVE_DELEGATED_ADMINISTRATOR_FROM_ORG",
            "You can't remove a delegated administrator from the organization. Deregister it first.",
        ));
    }
    account.membership = None;
    Ok(Outcome::changed(vec![write_back(
        view,
        records::ACCOUNT,
        &account.account_id,
        &account,
    )?]))
}

pub fn create_ou(call: &Call<'_>, input: CreateOuInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    check_parent(&view, org, &input.parent_id, "ParentNotFoundException")?;
    check_tags(&input.tags)?;
    let siblings = units_of(&view, org).filter(|u| u.parent_id == input.parent_id);
    if siblings.into_iter().any(|u| u.name == input.name) {
        return Err(ServiceError::modeled(
            "DuplicateOrganizationalUnitException",
            "An OU with the same name already exists.",
        ));
    }
    // The ancestry of the new OU's parent starts at the root: its length is the
    // depth the new OU will be at.
    if view.org.ancestry(&input.parent_id).len() > OU_DEPTH {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "OU_DEPTH_LIMIT_EXCEEDED",
            "You have tried to create an OU in a hierarchy deeper than 5 levels.",
        ));
    }
    if units_of(&view, org).count() >= OUS_PER_ORGANIZATION {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "OU_NUMBER_LIMIT_EXCEEDED",
            "You have reached the maximum number of OUs in your organization.",
        ));
    }
    let root_suffix = org.root_id.trim_start_matches("r-");
    let ou = OrganizationalUnit {
        id: ids::new_org_id(&format!("ou-{root_suffix}-"), 8),
        organization_id: org.id.clone(),
        parent_id: input.parent_id,
        name: input.name,
        created: call.now.timestamp(),
        policies: default_policies(org),
        tags: input.tags,
    };
    Ok(Outcome {
        output: json!({ "OrganizationalUnit": ou_output(&view, org, &ou) }),
        mutations: vec![put(records::ORG_UNIT, &ou.id, &ou, Expect::Absent)?],
    })
}

pub fn describe_ou(call: &Call<'_>, input: OuInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let ou = find_ou(&view, org, &input.organizational_unit_id)?;
    Ok(Outcome::output(
        json!({ "OrganizationalUnit": ou_output(&view, org, ou) }),
    ))
}

pub fn update_ou(call: &Call<'_>, input: OuInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut ou = find_ou(&view, org, &input.organizational_unit_id)?.clone();
    if let Some(name) = input.name {
        let taken = units_of(&view, org)
            .any(|u| u.parent_id == ou.parent_id && u.name == name && u.id != ou.id);
        if taken {
            return Err(ServiceError::modeled(
                "DuplicateOrganizationalUnitException",
                "An OU with the same name already exists.",
            ));
        }
        ou.name = name;
    }
    Ok(Outcome {
        output: json!({ "OrganizationalUnit": ou_output(&view, org, &ou) }),
        mutations: vec![write_back(&view, records::ORG_UNIT, &ou.id, &ou)?],
    })
}

pub fn delete_ou(call: &Call<'_>, input: OuInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let ou = find_ou(&view, org, &input.organizational_unit_id)?;
    let has_children = units_of(&view, org).any(|u| u.parent_id == ou.id)
        || accounts_of(&view, org).any(|a| parent_of(a) == Some(ou.id.as_str()));
    if has_children {
        return Err(ServiceError::modeled(
            "OrganizationalUnitNotEmptyException",
            "The specified OU is not empty. Move all accounts to another root or to other OUs, remove all child OUs, and try again.",
        ));
    }
    Ok(Outcome::changed(vec![delete(records::ORG_UNIT, &ou.id)]))
}

pub fn list_ous_for_parent(call: &Call<'_>, input: ParentInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    check_parent(&view, org, &input.parent_id, "ParentNotFoundException")?;
    let mut units: Vec<&OrganizationalUnit> = units_of(&view, org)
        .filter(|u| u.parent_id == input.parent_id)
        .collect();
    units.sort_by(|a, b| a.id.cmp(&b.id));
    let page = input.paging.page(
        &units,
        |u| u.id.clone(),
        "OrganizationalUnits",
        |u| ou_output(&view, org, u),
    )?;
    Ok(Outcome::output(page))
}

pub fn list_children(call: &Call<'_>, input: ParentInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    check_parent(&view, org, &input.parent_id, "ParentNotFoundException")?;
    let mut children: Vec<(String, &str)> = match input.child_type.as_deref() {
        Some("ACCOUNT") => accounts_of(&view, org)
            .filter(|a| parent_of(a) == Some(input.parent_id.as_str()))
            .map(|a| (a.account_id.clone(), "ACCOUNT"))
            .collect(),
        Some("ORGANIZATIONAL_UNIT") => units_of(&view, org)
            .filter(|u| u.parent_id == input.parent_id)
            .map(|u| (u.id.clone(), "ORGANIZATIONAL_UNIT"))
            .collect(),
        _ => {
            return Err(ServiceError::with_reason(
                "InvalidInputException",
                "INVALID_ENUM",
                "You specified an invalid value for ChildType.",
            ));
        }
    };
    children.sort();
    let page = input.paging.page(
        &children,
        |(id, _)| id.clone(),
        "Children",
        |(id, kind)| json!({"Id": id, "Type": kind}),
    )?;
    Ok(Outcome::output(page))
}

pub fn list_parents(call: &Call<'_>, input: ChildInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let parent = match view.org.units.get(&input.child_id) {
        Some(ou) if ou.organization_id == org.id => ou.parent_id.clone(),
        _ => match member(&view, org, &input.child_id) {
            Ok(account) => parent_of(account).unwrap_or_default().to_owned(),
            Err(_) => {
                return Err(ServiceError::modeled(
                    "ChildNotFoundException",
                    "You specified a child that doesn't exist.",
                ));
            }
        },
    };
    let kind = if parent == org.root_id {
        "ROOT"
    } else {
        "ORGANIZATIONAL_UNIT"
    };
    let parents = [(parent, kind)];
    let page = input.paging.page(
        &parents,
        |(id, _)| id.clone(),
        "Parents",
        |(id, kind)| json!({"Id": id, "Type": kind}),
    )?;
    Ok(Outcome::output(page))
}

pub fn register_delegated_admin(
    call: &Call<'_>,
    input: DelegatedAdminInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut org = managed(&view, call)?.clone();
    member(&view, &org, &input.account_id)?;
    if input.account_id == org.management_account_id {
        return Err(ServiceError::with_reason(
            "ConstraintViolationException",
            "CANNOT_REGISTER_MASTER_AS_DELEGATED_ADMINISTRATOR",
            "You can't register the management account as a delegated administrator.",
        ));
    }
    let registered = org
        .delegated_administrators
        .iter()
        .any(|(a, s, _)| *a == input.account_id && *s == input.service_principal);
    if registered {
        return Err(ServiceError::modeled(
            "AccountAlreadyRegisteredException",
            "The provided account is already a delegated administrator for your organization.",
        ));
    }
    org.delegated_administrators.push((
        input.account_id,
        input.service_principal,
        call.now.timestamp(),
    ));
    store_organization(&view, &org)
}

pub fn deregister_delegated_admin(
    call: &Call<'_>,
    input: DelegatedAdminInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut org = managed(&view, call)?.clone();
    member(&view, &org, &input.account_id)?;
    let before = org.delegated_administrators.len();
    org.delegated_administrators
        .retain(|(a, s, _)| !(*a == input.account_id && *s == input.service_principal));
    if org.delegated_administrators.len() == before {
        return Err(not_registered());
    }
    store_organization(&view, &org)
}

/// AccountNotRegistered: the account is no delegated administrator (for that service).
pub(super) fn not_registered() -> ServiceError {
    ServiceError::modeled(
        "AccountNotRegisteredException",
        "The provided account is not a registered delegated administrator for your organization.",
    )
}

pub fn list_delegated_admins(
    call: &Call<'_>,
    input: ListDelegatedAdminsInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut admins: Vec<(&Account, i64)> = org
        .delegated_administrators
        .iter()
        .filter(|(_, s, _)| input.service_principal.as_ref().is_none_or(|p| p == s))
        .filter_map(|(a, _, at)| Some((view.accounts.get(a)?, *at)))
        .collect();
    admins.sort_by(|a, b| a.0.account_id.cmp(&b.0.account_id));
    admins.dedup_by(|a, b| a.0.account_id == b.0.account_id);
    let page = input.paging.page(
        &admins,
        |(a, _)| a.account_id.clone(),
        "DelegatedAdministrators",
        |(a, at)| {
            let mut out = account_output(org, a);
            out["DelegationEnabledDate"] = json!(at);
            out
        },
    )?;
    Ok(Outcome::output(page))
}

pub fn tag_resource(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let new = input.tags.clone();
    check_tags(&new)?;
    retag(call, &input.resource_id, |tags| {
        for tag in new {
            match tags.iter_mut().find(|t| t.key == tag.key) {
                Some(existing) => *existing = tag,
                None => tags.push(tag),
            }
        }
    })
}

pub fn untag_resource(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let keys = input.tag_keys.clone();
    retag(call, &input.resource_id, |tags| {
        tags.retain(|t| !keys.contains(&t.key))
    })
}

pub fn list_tags(call: &Call<'_>, input: TagInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let tags: Vec<Tag> = if input.resource_id == org.root_id {
        org.root_tags.clone()
    } else if let Some(ou) = view.org.units.get(&input.resource_id) {
        ou.tags.clone()
    } else if let Some(policy) = view.org.policies.get(&input.resource_id) {
        policy.tags.clone()
    } else {
        let account = member(&view, org, &input.resource_id).map_err(|_| target_not_found())?;
        account
            .membership
            .as_ref()
            .map(|m| m.tags.clone())
            .unwrap_or_default()
    };
    let page = input
        .paging
        .page(&tags, |t| t.key.clone(), "Tags", |t| json!(t))?;
    Ok(Outcome::output(page))
}

/// Changes the tags of a root, OU, policy or account of the caller's organization.
fn retag(
    call: &Call<'_>,
    resource_id: &str,
    change: impl FnOnce(&mut Vec<Tag>),
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mutation = if resource_id == org.root_id {
        let mut org = org.clone();
        change(&mut org.root_tags);
        write_back(&view, records::ORGANIZATION, &org.id, &org)?
    } else if let Some(ou) = view
        .org
        .units
        .get(resource_id)
        .filter(|u| u.organization_id == org.id)
    {
        let mut ou = ou.clone();
        change(&mut ou.tags);
        write_back(&view, records::ORG_UNIT, &ou.id, &ou)?
    } else if let Some(policy) = view
        .org
        .policies
        .get(resource_id)
        .filter(|p| p.organization_id == org.id)
    {
        let mut policy = policy.clone();
        change(&mut policy.tags);
        write_back(&view, records::ORG_POLICY, &policy.id, &policy)?
    } else {
        let mut account = member(&view, org, resource_id)
            .map_err(|_| target_not_found())?
            .clone();
        if let Some(m) = account.membership.as_mut() {
            change(&mut m.tags);
        }
        write_back(&view, records::ACCOUNT, &account.account_id, &account)?
    };
    Ok(Outcome::changed(vec![mutation]))
}

/// The accounts in `org`.
pub(super) fn accounts_of<'v>(
    view: &'v View,
    org: &'v Organization,
) -> impl Iterator<Item = &'v Account> {
    view.accounts.values().filter(move |a| {
        a.membership
            .as_ref()
            .is_some_and(|m| m.organization_id == org.id)
    })
}

/// The OUs of `org`.
pub(super) fn units_of<'v>(
    view: &'v View,
    org: &'v Organization,
) -> impl Iterator<Item = &'v OrganizationalUnit> {
    view.org
        .units
        .values()
        .filter(move |u| u.organization_id == org.id)
}

fn parent_of(account: &Account) -> Option<&str> {
    account.membership.as_ref().map(|m| m.parent_id.as_str())
}

/// The policies a new OU or account gets: the AWS-managed full-access policy of each
/// enabled control policy type.
pub(super) fn default_policies(org: &Organization) -> Vec<String> {
    let enabled = |t: &str| org.enabled_policy_types.iter().any(|e| e == t);
    let mut policies = Vec::new();
    if enabled(SCP) {
        policies.push("p-FullAWSAccess".to_owned());
    }
    if enabled(RCP) {
        policies.push("p-RCPFullAWSAccess".to_owned());
    }
    policies
}

/// `parent_id` is the root or an OU of `org`, or the error named `code`.
fn check_parent(
    view: &View,
    org: &Organization,
    parent_id: &str,
    code: &'static str,
) -> Result<(), ServiceError> {
    let exists = parent_id == org.root_id
        || view
            .org
            .units
            .get(parent_id)
            .is_some_and(|u| u.organization_id == org.id);
    if exists {
        return Ok(());
    }
    let what = match code {
        "SourceParentNotFoundException" => "a source parent",
        "DestinationParentNotFoundException" => "a destination parent",
        _ => "a parent",
    };
    Err(ServiceError::modeled(
        code,
        format!("You specified {what} that doesn't exist."),
    ))
}

pub(super) fn find_ou<'v>(
    view: &'v View,
    org: &Organization,
    id: &str,
) -> Result<&'v OrganizationalUnit, ServiceError> {
    view.org
        .units
        .get(id)
        .filter(|u| u.organization_id == org.id)
        .ok_or_else(|| {
            ServiceError::modeled(
                "OrganizationalUnitNotFoundException",
                "You specified an organizational unit that doesn't exist.",
            )
        })
}

pub(super) fn target_not_found() -> ServiceError {
    ServiceError::modeled(
        "TargetNotFoundException",
        "You specified a target that doesn't exist.",
    )
}

/// The role CreateAccount puts in a new account: the management account's root (so
/// any of its principals its policies allow) may assume it, and it has
/// AdministratorAccess.
fn access_role(account_id: &str, management: &str, name: &str, now: i64) -> Role {
    let trust = json!({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"AWS": format!("arn:aws:iam::{management}:root")},
        "Action": "sts:AssumeRole"}]});
    Role {
        account_id: account_id.to_owned(),
        role_name: name.to_owned(),
        role_id: ids::new_id(IdPrefix::Role),
        path: "/".to_owned(),
        created: now,
        assume_role_policy: trust.to_string(),
        description: None,
        max_session_duration: 3600,
        permissions: Permissions {
            attached_policies: vec![crate::bootstrap::ADMINISTRATOR_ACCESS.to_owned()],
            ..Permissions::default()
        },
        permissions_boundary: None,
        tags: Vec::new(),
        last_used: None,
    }
}

/// An outcome that stores the changed organization record.
pub(super) fn store_organization(view: &View, org: &Organization) -> Result<Outcome, ServiceError> {
    Ok(Outcome::changed(vec![write_back(
        view,
        records::ORGANIZATION,
        &org.id,
        org,
    )?]))
}

pub(super) fn put<T: serde::Serialize>(
    kind: &str,
    id: &str,
    value: &T,
    expect: Expect,
) -> Result<Mutation, ServiceError> {
    Ok(Mutation::Put {
        kind: kind.to_owned(),
        id: id.to_owned(),
        value: to_canonical(value)?,
        expect,
    })
}

/// The mutation that writes back a record read from `view` and changed, committed only
/// over the version read.
pub(super) fn write_back<T: serde::Serialize>(
    view: &View,
    kind: &str,
    id: &str,
    value: &T,
) -> Result<Mutation, ServiceError> {
    put(kind, id, value, view.expect_current(kind, id))
}

pub(super) fn delete(kind: &str, id: &str) -> Mutation {
    Mutation::Delete {
        kind: kind.to_owned(),
        id: id.to_owned(),
        expect: Expect::Any,
    }
}

fn organization_output(view: &View, org: &Organization) -> Value {
    let email = view
        .accounts
        .get(&org.management_account_id)
        .map(email)
        .unwrap_or_default();
    json!({
        "Id": org.id,
        "Arn": arn(org, &format!("organization/{}", org.id)),
        "FeatureSet": org.feature_set,
        "MasterAccountArn": arn(org, &format!("account/{}/{}", org.id, org.management_account_id)),
        "MasterAccountId": org.management_account_id,
        "MasterAccountEmail": email,
        "AvailablePolicyTypes": policy_types(org),
    })
}

pub(super) fn root_output(org: &Organization) -> Value {
    json!({
        "Id": org.root_id,
        "Arn": arn(org, &format!("root/{}/{}", org.id, org.root_id)),
        "Name": "Root",
        "PolicyTypes": policy_types(org),
    })
}

fn policy_types(org: &Organization) -> Vec<Value> {
    org.enabled_policy_types
        .iter()
        .map(|t| json!({"Type": t, "Status": "ENABLED"}))
        .collect()
}

fn ou_output(view: &View, org: &Organization, ou: &OrganizationalUnit) -> Value {
    let mut path = format!("{}/", org.id);
    for level in view.org.ancestry(&ou.parent_id) {
        path.push_str(&level);
        path.push('/');
    }
    path.push_str(&ou.id);
    path.push('/');
    json!({
        "Id": ou.id,
        "Arn": arn(org, &format!("ou/{}/{}", org.id, ou.id)),
        "Name": ou.name,
        "Path": path,
    })
}

fn create_status_output(request: &CreateAccountRequest) -> Value {
    let mut out = json!({
        "Id": request.id, "AccountName": request.account_name, "State": request.state,
        "RequestedTimestamp": request.requested,
    });
    if let Some(at) = request.completed {
        out["CompletedTimestamp"] = json!(at);
    }
    if let Some(id) = &request.account_id {
        out["AccountId"] = json!(id);
    }
    if let Some(reason) = &request.failure_reason {
        out["FailureReason"] = json!(reason);
    }
    out
}
