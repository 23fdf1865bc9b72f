//! The crate's one error type: why a policy document was refused.
//!
//! [`PolicyError::message`] is the exact text IAM (or Organizations) returns in its
//! `MalformedPolicyDocument` error, so the server can hand it to clients verbatim;
//! [`PolicyErrorKind`] lets callers branch without parsing text.

use std::fmt;

/// What class of problem made a document unacceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PolicyErrorKind {
    /// Not JSON, wrong JSON types, unknown elements: "Syntax errors in policy.".
    Syntax,
    /// The `Version` is neither `2012-10-17` nor `2008-10-17`.
    Version,
    /// An element this policy type forbids (a principal in an identity policy, ...).
    ProhibitedElement,
    /// An element this policy type requires is missing.
    MissingElement,
    /// An action or condition key without a `vendor:` prefix.
    Vendor,
    /// A malformed resource, principal, condition operator or value.
    InvalidValue,
    /// Duplicate or non-alphanumeric statement ids.
    Sid,
    /// The document is larger than AWS's quota for this policy type.
    SizeQuota,
}

/// A refused policy document. `Display` prints [`PolicyError::message`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct PolicyError {
    kind: PolicyErrorKind,
    message: String,
}

impl fmt::Display for PolicyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl PolicyError {
    pub(crate) fn new(kind: PolicyErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }
    pub(crate) fn syntax() -> Self {
        Self::new(PolicyErrorKind::Syntax, "Syntax errors in policy.")
    }
    /// The kind of problem, to match on.
    pub fn kind(&self) -> PolicyErrorKind {
        self.kind
    }
    /// AWS's `MalformedPolicyDocument` message, verbatim.
    pub fn message(&self) -> &str {
        &self.message
    }
}

/// Messages IAM uses, kept in one place so tests and callers can refer to them.
pub mod messages {
    pub const SYNTAX: &str = "Syntax errors in policy.";
    pub const LEGACY: &str = "The policy failed legacy parsing";
    pub const NO_PRINCIPAL_ALLOWED: &str = "Policy document should not specify a principal.";
    pub const MISSING_PRINCIPAL: &str = "Missing required field Principal";
    pub const MISSING_ACTIONS: &str = "Policy statement must contain actions.";
    pub const MISSING_RESOURCES: &str = "Policy statement must contain resources.";
    pub const MISSING_STATEMENT: &str = "Missing required field Statement";
    pub const MISSING_EFFECT: &str = "Missing required field Effect";
    pub const VENDOR: &str =
        "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.";
    pub const SID_UNIQUE: &str = "Statement IDs (SID) in a single policy must be unique.";
    pub const SID_ALNUM: &str = "Statement IDs (SID) must be alpha-numeric. Check that your input satisfies the regular expression [0-9A-Za-z]*";
}
