//! The KMS operations of features rampart's keys do not have, answered as AWS answers an
//! account that does not use them: custom key stores (an account without any: an empty
//! list, CustomKeyStoreNotFoundException for any id, and creating one is unsupported
//! here, since rampart keeps every key itself) and multi-Region keys (every rampart key
//! is a single-Region key, which ReplicateKey and UpdatePrimaryRegion refuse).

use serde::Deserialize;
use serde_json::json;

use super::{KeyInput, error, resolve};
use crate::call::{Call, Outcome};
use crate::error::ServiceError;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeKeyStoresInput {
    custom_key_store_id: Option<String>,
    custom_key_store_name: Option<String>,
    marker: Option<String>,
}

pub fn describe_key_stores(input: DescribeKeyStoresInput) -> Result<Outcome, ServiceError> {
    if let Some(store) = input.custom_key_store_id.or(input.custom_key_store_name) {
        return Err(key_store_not_found(&store));
    }
    if input.marker.is_some() {
        // rampart never hands out a marker here: there is nothing to page through.
        return Err(error("InvalidMarkerException", "Invalid marker"));
    }
    Ok(Outcome::output(
        json!({ "CustomKeyStores": [], "Truncated": false }),
    ))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct KeyStoreInput {
    custom_key_store_id: String,
}

/// ConnectCustomKeyStore, DisconnectCustomKeyStore, UpdateCustomKeyStore and
/// DeleteCustomKeyStore: there is no store to act on.
pub fn key_store(input: KeyStoreInput) -> Result<Outcome, ServiceError> {
    Err(key_store_not_found(&input.custom_key_store_id))
}

pub fn create_key_store() -> Result<Outcome, ServiceError> {
    Err(error(
        "UnsupportedOperationException",
        "rampart does not support custom key stores.",
    ))
}

fn key_store_not_found(store: &str) -> ServiceError {
    error(
        "CustomKeyStoreNotFoundException",
        format!("Custom key store {store} does not exist."),
    )
}

/// ReplicateKey and UpdatePrimaryRegion: the key must exist, and is not a multi-Region
/// key.
pub fn multi_region(call: &Call<'_>, input: KeyInput) -> Result<Outcome, ServiceError> {
    let view = call.plane.view();
    let entry = resolve(&view, call, &input.key_id)?;
    Err(error(
        "UnsupportedOperationException",
        format!("{} is not a multi-Region key.", entry.arn()),
    ))
}
