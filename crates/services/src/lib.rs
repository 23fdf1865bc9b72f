//! The AWS services rampart implements, one module each, over one in-memory
//! [`ControlPlane`] per replica.
//!
//! A service module never sees HTTP or a wire format: the protocol layer hands it the
//! operation's input in canonical form (see `rampart_protocol`), the module reads it
//! into typed structs, decides against the view, and returns an [`Outcome`]: the typed
//! output in canonical form and the mutations that carry the call out. The server
//! commits those mutations with the call's audit event in one transaction.
//!
//! - [`control_plane`]: the store, the master key and the view that follows the
//!   store's change feed;
//! - [`authorize`]: which permission each operation needs, decided by the policy engine;
//! - [`sts`], [`cloudtrail`]: the services;
//! - [`bootstrap`]: what `rampart init` creates;
//! - [`audit`]: a call as a CloudTrail event.

pub mod audit;
pub mod authorize;
mod aws_managed;
pub mod bootstrap;
pub mod call;
pub mod caller;
pub mod cloudtrail;
pub mod control_plane;
mod cpu_bound;
pub mod error;
pub mod iam;
pub mod ids;
pub mod kms;
pub mod organizations;
pub mod paging;
pub mod records;
pub mod sts;
pub mod sts_federation;
pub mod view;

pub use call::{Call, Outcome};
pub use caller::{Caller, Credentials};
pub use control_plane::{ControlPlane, PlaneError, Settings};
pub use error::ServiceError;

/// Runs one operation of one service (named by its model's endpoint prefix).
pub async fn handle(
    service: &str,
    operation: &str,
    call: &Call<'_>,
    input: serde_json::Value,
) -> Result<Outcome, ServiceError> {
    match service {
        "iam" => iam::handle(operation, call, input).await,
        "sts" => sts::handle(operation, call, input).await,
        "cloudtrail" => cloudtrail::handle(operation, call, input).await,
        "kms" => kms::handle(operation, call, input).await,
        "organizations" => organizations::handle(operation, call, input).await,
        _ => Err(ServiceError::not_implemented(service, operation)),
    }
}
