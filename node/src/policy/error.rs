//! Errors from parsing policies and from managing reserved ones. Every
//! message is worded for a Vault client; the HTTP layer maps them all to 400.

use thiserror::Error;

/// Why a policy could not be parsed, written or deleted.
#[derive(Debug, Clone, PartialEq, Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// The text is neither valid HCL nor valid JSON, or has no root object.
    #[error("failed to parse policy: {0}")]
    Syntax(String),
    /// A top-level key other than `name` or `path`.
    #[error("failed to parse policy: invalid key {0:?}")]
    InvalidKey(String),
    /// A `path` block is wrong; `path` is the block's label as written.
    #[error("failed to parse policy: path {path:?}: {problem}")]
    Rule { path: String, problem: RuleError },
    /// `root` cannot be written.
    #[error("cannot update {0:?} policy")]
    CannotUpdate(String),
    /// `root` cannot be deleted.
    #[error("cannot delete {0:?} policy")]
    CannotDelete(String),
    /// `default` can be rewritten but never deleted.
    #[error("cannot delete default policy")]
    CannotDeleteDefault,
}

/// What is wrong inside one `path` block.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RuleError {
    #[error("invalid key {0:?}")]
    InvalidKey(String),
    #[error("invalid capability {0:?}")]
    InvalidCapability(String),
    /// The legacy `policy = "..."` field holds something else than
    /// read, write, sudo or deny.
    #[error("invalid policy {0:?}")]
    InvalidPolicy(String),
    #[error("invalid use of wildcards ('+*' is forbidden)")]
    PlusGlob,
    #[error("{field}: expected {expected}")]
    WrongType {
        field: &'static str,
        expected: &'static str,
    },
    #[error("error parsing {field}: {message}")]
    Duration {
        field: &'static str,
        message: String,
    },
    #[error("max_wrapping_ttl cannot be less than min_wrapping_ttl")]
    WrappingTtlOrder,
    /// An identity template in the path that cannot be parsed.
    #[error("invalid identity template: {0}")]
    Template(super::template::TemplateError),
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum DenyReason {
    /// No rule matches the path.
    NoMatchingRule,
    /// The matching rule holds `deny`.
    ExplicitDeny,
    /// The matching rule does not grant the capability.
    CapabilityNotGranted,
    /// The capability/operation name is not one the ACL knows.
    UnknownCapability,
    /// Not wrapped, or wrapped outside min/max_wrapping_ttl.
    WrappingTtl,
    MissingRequiredParameter(String),
    DeniedParameter(String),
    ParameterNotAllowed(String),
}
