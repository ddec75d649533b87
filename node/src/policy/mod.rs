//! ACL policies: Vault 1.16's policy language and its evaluation.
//!
//! Pure logic, no I/O and no async: text in, [`Policy`] out
//! ([`parse_policy`]); policies in, [`Acl`] out ([`Acl::new`]); a request
//! (path, capability, parameters) in, allow or [`AclDenied`] out
//! ([`Acl::check`]). The policy store persists `{name, raw}` and re-parses;
//! the request pipeline builds an [`Acl`] per token and calls `check`.
//!
//! Code map:
//! - `parse`: HCL or JSON text to [`Policy`] (HCL goes through `hcl-rs`'s
//!   JSON-spec view, so both share one walker).
//! - `rule`: [`Policy`], [`PathRule`], [`PathMatcher`], [`Permissions`] and
//!   how rules for the same pattern merge across policies.
//! - `capability`: [`Capability`] and [`CapabilitySet`].
//! - `acl`: [`Acl`]: exact rule first, else the best non-exact one.
//! - `matching`: `+` segment patterns and Vault's priority order.
//! - `params`: allowed/denied/required parameters and wrapping TTLs.
//! - `defaults`: the built-in `default` policy and reserved names.
//! - `ttl`: Vault's duration syntax.
//! - `ui_view`: what a UI may learn of an [`Acl`]: the resultant ACL and mount access.
//!
//! - `template`: identity templating of rule paths (`{{identity.entity.id}}`...), filled
//!   from an [`IdentityView`] the caller's identity store builds.
//!
//! Not here: namespaces,
//! Sentinel, MFA and control-group enforcement (parsed and kept only).

mod acl;
mod capability;
mod defaults;
mod error;
#[cfg(test)]
mod fuzz_tests;
mod matching;
mod params;
mod parse;
mod rule;
mod template;
mod ttl;
mod ui_view;

pub use acl::{Acl, AclDenied};
pub use capability::{Capability, CapabilitySet};
pub use defaults::{
    check_deletable, check_writable, default_policy, is_reserved, DEFAULT_POLICY,
    DEFAULT_POLICY_NAME, ROOT_POLICY_NAME, WRAPPING_POLICY, WRAPPING_POLICY_NAME,
};
pub use error::{DenyReason, PolicyError, RuleError};
pub use parse::{normalize_name, parse_policy};
pub use rule::{ParamMap, PathMatcher, PathRule, Permissions, Policy};
pub use template::{AliasView, GroupView, IdentityView, TemplateError};
