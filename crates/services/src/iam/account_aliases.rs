//! Account aliases: at most one per account, unique across all accounts. Creating a
//! new alias for an account that has one replaces it (as AWS does).

use rampart_store::{Expect, Mutation};
use serde::Deserialize;
use serde_json::json;

use super::paging::Paging;
use crate::call::{Call, Outcome, to_canonical};
use crate::error::ServiceError;
use crate::records::{self, AccountAlias};

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AliasInput {
    account_alias: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    #[serde(flatten)]
    paging: Paging,
}

pub fn create(call: &Call<'_>, input: AliasInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let account = &call.caller.account_id;
    let alias = input.account_alias;
    match view.account_aliases.get(&alias) {
        Some(existing) if &existing.account_id == account => {
            return Ok(Outcome::output(json!({})));
        }
        Some(_) => {
            return Err(super::already_exists(format!(
                "The account alias {alias} already exists."
            )));
        }
        None => {}
    }
    let mut mutations: Vec<Mutation> = view
        .account_aliases
        .values()
        .filter(|a| &a.account_id == account)
        .map(|a| remove(&a.alias))
        .collect();
    let record = AccountAlias {
        account_id: account.clone(),
        alias: alias.clone(),
        created: call.now.timestamp(),
    };
    mutations.push(Mutation::Put {
        kind: records::IAM_ACCOUNT_ALIAS.to_owned(),
        id: alias,
        value: to_canonical(&record)?,
        expect: Expect::Absent,
    });
    Ok(Outcome::changed(mutations))
}

pub fn delete(call: &Call<'_>, input: AliasInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let alias = &input.account_alias;
    let owned = view
        .account_aliases
        .get(alias)
        .is_some_and(|a| a.account_id == call.caller.account_id);
    if !owned {
        return Err(super::no_such_entity(format!(
            "The account alias {alias} cannot be found."
        )));
    }
    Ok(Outcome::changed(vec![remove(alias)]))
}

pub fn list(call: &Call<'_>, input: ListInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let mut aliases: Vec<&str> = view
        .account_aliases
        .values()
        .filter(|a| a.account_id == call.caller.account_id)
        .map(|a| a.alias.as_str())
        .collect();
    aliases.sort_unstable();
    let page = input.paging.page(
        &aliases,
        |a| (*a).to_owned(),
        "AccountAliases",
        |a| json!(a),
    )?;
    Ok(Outcome::output(page))
}

fn remove(alias: &str) -> Mutation {
    Mutation::Delete {
        kind: records::IAM_ACCOUNT_ALIAS.to_owned(),
        id: alias.to_owned(),
        expect: Expect::Any,
    }
}
