//! Handshakes: the management account invites an existing account, which accepts or
//! declines within 15 days; the management account may cancel an open invitation.

use rampart_store::Expect;
use serde::Deserialize;
use serde_json::{Value, json};

use super::structure::{accounts_of, default_policies, put, write_back};
use super::{ACCOUNTS_PER_ORGANIZATION, arn, email, managed};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::ids;
use crate::paging::TokenPaging;
use crate::records::{self, Handshake, Membership, Organization};
use crate::view::View;

/// How long an invitation stays open.
const HANDSHAKE_LIFETIME: i64 = 15 * 86_400;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct InviteInput {
    target: Party,
    notes: Option<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Party {
    id: String,
    #[serde(rename = "Type")]
    party_type: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct HandshakeInput {
    handshake_id: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    filter: Option<Filter>,
    #[serde(flatten)]
    paging: TokenPaging,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct Filter {
    action_type: Option<String>,
}

pub fn invite(call: &Call<'_>, input: InviteInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    if input.target.party_type != "ACCOUNT" {
        return Err(ServiceError::with_reason(
            "InvalidInputException",
            "INVALID_PARTY_TYPE_TARGET",
            "You specified a wrong party type for the handshake target. Invite an account by its id.",
        ));
    }
    let target = view.accounts.get(&input.target.id).ok_or_else(|| {
        ServiceError::modeled(
            "AccountNotFoundException",
            "You specified an account that doesn't exist.",
        )
    })?;
    if target.membership.is_some() {
        return Err(ServiceError::with_reason(
            "HandshakeConstraintViolationException",
            "ALREADY_IN_AN_ORGANIZATION",
            "The account is already a member of an organization.",
        ));
    }
    if accounts_of(&view, org).count() >= ACCOUNTS_PER_ORGANIZATION {
        return Err(ServiceError::with_reason(
            "HandshakeConstraintViolationException",
            "ACCOUNT_NUMBER_LIMIT_EXCEEDED",
            "You have reached the maximum number of accounts in your organization.",
        ));
    }
    let now = call.now.timestamp();
    let handshake = Handshake {
        id: ids::new_org_id("h-", 10),
        organization_id: org.id.clone(),
        target_account_id: target.account_id.clone(),
        state: "OPEN".to_owned(),
        requested: now,
        expires: now + HANDSHAKE_LIFETIME,
        notes: input.notes,
    };
    Ok(Outcome {
        output: json!({ "Handshake": output(&view, org, &handshake, call.now.timestamp()) }),
        mutations: vec![put(
            records::ORG_HANDSHAKE,
            &handshake.id,
            &handshake,
            Expect::Absent,
        )?],
    })
}

/// The invited account joins the organization, under its root, with the default
/// policies of the enabled policy types.
pub fn accept(call: &Call<'_>, input: HandshakeInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let (handshake, org) = addressed_to_caller(&view, call, &input.handshake_id)?;
    check_open(handshake, call.now.timestamp())?;
    let mut account = view
        .accounts
        .get(&call.caller.account_id)
        .cloned()
        .ok_or_else(super::access_denied)?;
    if account.membership.is_some() {
        return Err(ServiceError::with_reason(
            "HandshakeConstraintViolationException",
            "ALREADY_IN_AN_ORGANIZATION",
            "The account is already a member of an organization.",
        ));
    }
    let now = call.now.timestamp();
    account.membership = Some(Membership {
        organization_id: org.id.clone(),
        parent_id: org.root_id.clone(),
        joined_method: "INVITED".to_owned(),
        joined: now,
        state: "ACTIVE".to_owned(),
        policies: default_policies(org),
        tags: Vec::new(),
    });
    transition(
        &view,
        call,
        handshake,
        org,
        "ACCEPTED",
        vec![write_back(
            &view,
            records::ACCOUNT,
            &account.account_id,
            &account,
        )?],
    )
}

pub fn decline(call: &Call<'_>, input: HandshakeInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let (handshake, org) = addressed_to_caller(&view, call, &input.handshake_id)?;
    transition(&view, call, handshake, org, "DECLINED", Vec::new())
}

pub fn cancel(call: &Call<'_>, input: HandshakeInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let handshake = find(&view, &input.handshake_id)?;
    if handshake.organization_id != org.id {
        return Err(not_found());
    }
    transition(&view, call, handshake, org, "CANCELED", Vec::new())
}

pub fn describe(call: &Call<'_>, input: HandshakeInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let handshake = find(&view, &input.handshake_id)?;
    let org = view
        .org
        .organizations
        .get(&handshake.organization_id)
        .ok_or_else(not_found)?;
    let party = handshake.target_account_id == call.caller.account_id
        || org.management_account_id == call.caller.account_id;
    if !party {
        return Err(not_found());
    }
    Ok(Outcome::output(
        json!({ "Handshake": output(&view, org, handshake, call.now.timestamp()) }),
    ))
}

pub fn list_for_account(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let handshakes: Vec<&Handshake> = view
        .org
        .handshakes
        .values()
        .filter(|h| h.target_account_id == call.caller.account_id)
        .collect();
    list(&view, call, handshakes, input)
}

pub fn list_for_organization(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let handshakes: Vec<&Handshake> = view
        .org
        .handshakes
        .values()
        .filter(|h| h.organization_id == org.id)
        .collect();
    list(&view, call, handshakes, input)
}

fn list(
    view: &View,
    call: &Call<'_>,
    mut handshakes: Vec<&Handshake>,
    input: ListInput,
) -> Result<Outcome, ServiceError> {
    if let Some(action) = input.filter.as_ref().and_then(|f| f.action_type.as_deref())
        && action != "INVITE"
    {
        handshakes.clear();
    }
    handshakes.sort_by(|a, b| (a.requested, &a.id).cmp(&(b.requested, &b.id)));
    let now = call.now.timestamp();
    let outputs: Vec<Value> = handshakes
        .iter()
        .filter_map(|h| {
            let org = view.org.organizations.get(&h.organization_id)?;
            Some(output(view, org, h, now))
        })
        .collect();
    let page = input.paging.page(
        &outputs,
        |h| h["Id"].as_str().unwrap_or_default().to_owned(),
        "Handshakes",
        Value::clone,
    )?;
    Ok(Outcome::output(page))
}

/// An open handshake addressed to the caller's account, and its organization.
fn addressed_to_caller<'v>(
    view: &'v View,
    call: &Call<'_>,
    id: &str,
) -> Result<(&'v Handshake, &'v Organization), ServiceError> {
    let handshake = find(view, id)?;
    if handshake.target_account_id != call.caller.account_id {
        return Err(not_found());
    }
    let org = view
        .org
        .organizations
        .get(&handshake.organization_id)
        .ok_or_else(not_found)?;
    Ok((handshake, org))
}

/// Moves an OPEN handshake to `state`, with the other changes that go with it.
fn transition(
    view: &View,
    call: &Call<'_>,
    handshake: &Handshake,
    org: &Organization,
    state: &str,
    mut mutations: Vec<rampart_store::Mutation>,
) -> Result<Outcome, ServiceError> {
    let now = call.now.timestamp();
    check_open(handshake, now)?;
    let mut handshake = handshake.clone();
    handshake.state = state.to_owned();
    mutations.push(write_back(
        view,
        records::ORG_HANDSHAKE,
        &handshake.id,
        &handshake,
    )?);
    Ok(Outcome {
        output: json!({ "Handshake": output(view, org, &handshake, now) }),
        mutations,
    })
}

/// An open handshake can change state; any other cannot.
fn check_open(handshake: &Handshake, now: i64) -> Result<(), ServiceError> {
    if current_state(handshake, now) == "OPEN" {
        return Ok(());
    }
    Err(ServiceError::modeled(
        "InvalidHandshakeTransitionException",
        "You can't perform the operation on the handshake in its current state.",
    ))
}

/// The state, with an open handshake past its lifetime shown as EXPIRED.
fn current_state(handshake: &Handshake, now: i64) -> &str {
    if handshake.state == "OPEN" && now >= handshake.expires {
        "EXPIRED"
    } else {
        &handshake.state
    }
}

fn find<'v>(view: &'v View, id: &str) -> Result<&'v Handshake, ServiceError> {
    view.org.handshakes.get(id).ok_or_else(not_found)
}

fn not_found() -> ServiceError {
    ServiceError::modeled(
        "HandshakeNotFoundException",
        "We can't find a handshake with the HandshakeId that you specified.",
    )
}

fn output(view: &View, org: &Organization, handshake: &Handshake, now: i64) -> Value {
    let management_email = view
        .accounts
        .get(&org.management_account_id)
        .map(email)
        .unwrap_or_default();
    let mut resources = vec![
        json!({"Type": "ORGANIZATION", "Value": org.id, "Resources": [
            {"Type": "MASTER_EMAIL", "Value": management_email},
            {"Type": "ORGANIZATION_FEATURE_SET", "Value": org.feature_set},
        ]}),
        json!({"Type": "ACCOUNT", "Value": handshake.target_account_id}),
    ];
    if let Some(notes) = &handshake.notes {
        resources.push(json!({"Type": "NOTES", "Value": notes}));
    }
    json!({
        "Id": handshake.id,
        "Arn": arn(org, &format!("handshake/{}/invite/{}", org.id, handshake.id)),
        "Parties": [
            {"Id": org.id, "Type": "ORGANIZATION"},
            {"Id": handshake.target_account_id, "Type": "ACCOUNT"},
        ],
        "State": current_state(handshake, now),
        "RequestedTimestamp": handshake.requested,
        "ExpirationTimestamp": handshake.expires,
        "Action": "INVITE",
        "Resources": resources,
    })
}
