//! Which AWS services work with the organization: trusted access
//! (Enable/DisableAWSServiceAccess, ListAWSServiceAccessForOrganization, kept on the
//! organization record with the date each was enabled) and, per account, the services
//! it is a delegated administrator for (ListDelegatedServicesForAccount, from the
//! registrations `structure` keeps).

use serde::Deserialize;
use serde_json::json;

use super::structure::{ListInput, not_registered, store_organization};
use super::{managed, member};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;
use crate::paging::TokenPaging;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ServicePrincipalInput {
    service_principal: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DelegatedServicesInput {
    account_id: String,
    #[serde(flatten)]
    paging: TokenPaging,
}

/// Enables trusted access for a service; enabling it again changes nothing.
pub fn enable(call: &Call<'_>, input: ServicePrincipalInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut org = managed(&view, call)?.clone();
    if org
        .service_access
        .iter()
        .any(|(principal, _)| *principal == input.service_principal)
    {
        return Ok(Outcome::output(json!({})));
    }
    org.service_access
        .push((input.service_principal, call.now.timestamp()));
    store_organization(&view, &org)
}

/// Disables trusted access for a service; disabling one never enabled changes nothing.
pub fn disable(call: &Call<'_>, input: ServicePrincipalInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut org = managed(&view, call)?.clone();
    let before = org.service_access.len();
    org.service_access
        .retain(|(principal, _)| *principal != input.service_principal);
    if org.service_access.len() == before {
        return Ok(Outcome::output(json!({})));
    }
    store_organization(&view, &org)
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    let mut enabled: Vec<&(String, i64)> = org.service_access.iter().collect();
    enabled.sort();
    let page = input.paging.page(
        &enabled,
        |(principal, _)| principal.clone(),
        "EnabledServicePrincipals",
        |(principal, at)| json!({ "ServicePrincipal": principal, "DateEnabled": at }),
    )?;
    Ok(Outcome::output(page))
}

/// The services `AccountId` is a delegated administrator for.
pub fn delegated_services(
    call: &Call<'_>,
    input: DelegatedServicesInput,
) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let org = managed(&view, call)?;
    member(&view, org, &input.account_id)?;
    let mut services: Vec<&(String, String, i64)> = org
        .delegated_administrators
        .iter()
        .filter(|(account, _, _)| *account == input.account_id)
        .collect();
    if services.is_empty() {
        return Err(not_registered());
    }
    services.sort_by(|a, b| a.1.cmp(&b.1));
    let page = input.paging.page(
        &services,
        |(_, principal, _)| principal.clone(),
        "DelegatedServices",
        |(_, principal, at)| json!({ "ServicePrincipal": principal, "DelegationEnabledDate": at }),
    )?;
    Ok(Outcome::output(page))
}
