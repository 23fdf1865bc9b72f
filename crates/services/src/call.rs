//! What every operation handler receives and returns. A handler reads the view,
//! decides, and returns its output together with the mutations that carry it out;
//! the caller commits those mutations and the call's audit event in one transaction.

use crate::error::ServiceError;
use chrono::{DateTime, Utc};
use rampart_store::Mutation;
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::caller::Caller;
use crate::control_plane::ControlPlane;

/// One authenticated, authorized call.
pub struct Call<'a> {
    pub plane: &'a ControlPlane,
    pub caller: &'a Caller,
    pub region: &'a str,
    pub source_ip: &'a str,
    pub user_agent: &'a str,
    pub now: DateTime<Utc>,
}

/// What a handled call produced.
#[derive(Debug)]
pub struct Outcome {
    /// The output, in the protocol layer's canonical form.
    pub output: serde_json::Value,
    /// What must be stored for the call to have happened (empty for reads).
    pub mutations: Vec<Mutation>,
}

impl Outcome {
    /// An outcome that changes nothing.
    pub fn read<T: Serialize>(output: &T) -> Result<Outcome, ServiceError> {
        Ok(Outcome::output(to_canonical(output)?))
    }

    /// An outcome that changes nothing, its output already in canonical form.
    pub fn output(output: serde_json::Value) -> Outcome {
        Outcome {
            output,
            mutations: Vec::new(),
        }
    }

    /// An outcome with an empty output that carries out `mutations`.
    pub fn changed(mutations: Vec<Mutation>) -> Outcome {
        Outcome {
            output: serde_json::json!({}),
            mutations,
        }
    }
}

/// Reads a handler's typed input from the canonical form the protocol layer produced
/// (already checked against the model, so a failure here is a validation error).
pub fn from_canonical<T: DeserializeOwned>(input: serde_json::Value) -> Result<T, ServiceError> {
    serde_json::from_value(input).map_err(|e| ServiceError::Validation(e.to_string()))
}

/// Turns a handler's typed output into the canonical form.
pub fn to_canonical<T: Serialize>(output: &T) -> Result<serde_json::Value, ServiceError> {
    serde_json::to_value(output).map_err(|e| ServiceError::Internal(e.to_string()))
}
