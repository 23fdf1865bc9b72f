//! rampart's IAM policy engine: parse, validate, compile, evaluate, explain.
//!
//! Architecture invariant: this crate is pure. No I/O, no async, no clock: the
//! caller supplies everything, including `aws:CurrentTime` when a policy needs it.
//!
//! - [`parse`] reads a document for a [`PolicyType`] and returns a [`Policy`] or a
//!   [`PolicyError`] carrying AWS's `MalformedPolicyDocument` message.
//! - [`validate()`] returns Access Analyzer-style [`Finding`]s.
//! - [`CompiledPolicy`] is the evaluation form (`Send + Sync`, share as `Arc`);
//!   [`PolicySet`] groups compiled policies of one kind and indexes them by action.
//! - [`evaluate`] decides a [`Request`] against [`Policies`] and returns a
//!   [`Decision`]: Allow / ExplicitDeny / ImplicitDeny, the deciding policy type and
//!   the matched statements.
//! - [`catalog`] answers what the Service Authorization Reference says about a
//!   service's actions, resource types and condition keys.
//!
//! ```
//! use rampart_policy::*;
//! use std::sync::Arc;
//!
//! let doc = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow",
//!     "Action":"s3:GetObject","Resource":"arn:aws:s3:::docs/${aws:username}/*"}}"#;
//! let policy = Arc::new(CompiledPolicy::parse(doc, PolicyType::Identity, "home").unwrap());
//! let identity = PolicySet::single(policy);
//! let alice = Principal::new(PrincipalKind::User, "arn:aws:iam::111122223333:user/alice", "111122223333");
//! let object = Resource::new("arn:aws:s3:::docs/alice/notes.txt", "111122223333");
//! let context = Context::new();
//! let req = Request { principal: &alice, action: "s3:GetObject", resource: &object, context: &context };
//! let decision = evaluate(&Policies { identity: Some(&identity), ..Default::default() }, &req);
//! assert_eq!(decision.kind, DecisionKind::Allow);
//! assert_eq!(decision.matched[0].policy_id(), "home");
//! ```

pub mod catalog;
mod compile;
pub mod condition;
mod context;
mod error;
mod eval;
#[doc(hidden)]
pub mod fuzz;
mod keys;
mod pattern;
mod policy;
pub mod request;
mod validate;

pub use compile::{CompiledPolicy, PolicySet};
pub use context::{Context, ContextValue, Principal, PrincipalKind, Request, Resource, Tags};
pub use error::{PolicyError, PolicyErrorKind, messages};
pub use eval::{
    DecidedBy, Decision, DecisionKind, MatchedStatement, Policies, ResourcePolicyKind, evaluate,
};
pub use keys::context_keys;
pub use pattern::wildcard_match;
pub use policy::{
    ConditionEntry, Effect, Policy, PolicyType, PrincipalSpec, Statement, Version, parse,
    parse_value, policy_size,
};
pub use validate::{Finding, FindingType, Location, validate};
