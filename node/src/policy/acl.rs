//! The ACL: a token's policies compiled into one lookup structure.
//!
//! Rules from every policy are merged per pattern (see
//! [`Permissions::merge`]), then a request path is resolved to exactly one
//! merged rule: an exact pattern if there is one, else the highest-priority
//! `*` prefix or `+` pattern (see `matching`). Only that rule decides.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::{Map, Value};
use thiserror::Error;

use super::capability::Capability;
use super::error::DenyReason;
use super::matching::{segment_match, Candidate};
use super::params::{check_parameters, check_wrapping};
use super::rule::{PathMatcher, PathRule, Permissions, Policy};
use super::template::IdentityView;

/// Name of the policy that grants everything.
pub const ROOT_POLICY: &str = "root";

/// A request the ACL refused. Clients only ever see "permission denied";
/// `reason` is for logs and audit.
#[derive(Debug, Clone, PartialEq, Error)]
#[error("permission denied")]
pub struct AclDenied {
    pub path: String,
    pub capability: String,
    pub reason: DenyReason,
}

/// The compiled ACL of one token.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Acl {
    pub(super) root: bool,
    pub(super) exact: BTreeMap<String, Permissions>,
    /// Keyed by the prefix, `*` stripped.
    pub(super) prefix: BTreeMap<String, Permissions>,
    /// Keyed by the full `+` pattern, trailing `*` kept.
    pub(super) segments: BTreeMap<String, Permissions>,
}

impl Acl {
    /// Compiles policies. A policy named `root` makes the ACL allow
    /// everything. Templated rules are skipped (no identity to fill them).
    pub fn new<'a>(policies: impl IntoIterator<Item = &'a Policy>) -> Acl {
        Acl::with_identity(policies, None)
    }

    /// Compiles policies for a caller whose identity fills templated rules; a rule that
    /// cannot be filled (no entity, a value missing) is skipped, as in Vault.
    pub fn with_identity<'a>(
        policies: impl IntoIterator<Item = &'a Policy>,
        identity: Option<&IdentityView>,
    ) -> Acl {
        let mut acl = Acl::default();
        for policy in policies {
            acl.root |= policy.name == ROOT_POLICY;
            for rule in &policy.rules {
                match &rule.template {
                    None => acl.insert(rule),
                    Some(_) => {
                        if let Some(filled) = rule.resolved(identity) {
                            acl.insert(&filled);
                        }
                    }
                }
            }
        }
        acl
    }

    fn insert(&mut self, rule: &PathRule) {
        let (map, key) = match &rule.matcher {
            PathMatcher::Exact(path) => (&mut self.exact, path),
            PathMatcher::Prefix(prefix) => (&mut self.prefix, prefix),
            PathMatcher::Segments(pattern) => (&mut self.segments, pattern),
        };
        match map.entry(key.clone()) {
            Entry::Vacant(slot) => {
                slot.insert(rule.permissions.clone());
            }
            Entry::Occupied(mut slot) => slot.get_mut().merge(&rule.permissions),
        }
    }

    /// Whether the `root` policy is present.
    pub fn is_root(&self) -> bool {
        self.root
    }

    /// Whether the capability is granted on the path, ignoring parameter and
    /// wrapping constraints (what `sys/capabilities` reports). `sudo` is
    /// checked like any other capability; unknown names are never allowed.
    pub fn allowed(&self, path: &str, capability: &str) -> bool {
        if self.root || capability == "help" {
            return true;
        }
        let Some(capability) = operation_capability(capability) else {
            return false;
        };
        self.rule_for(path, capability == Capability::List)
            .is_some_and(|p| !p.capabilities.is_deny() && p.capabilities.contains(capability))
    }

    /// The capabilities on a path, sorted, as `sys/capabilities` returns
    /// them: `["root"]` for root, `["deny"]` when nothing is granted.
    pub fn capabilities(&self, path: &str) -> Vec<String> {
        if self.root {
            return vec![ROOT_POLICY.to_owned()];
        }
        // Vault looks up with list semantics here (trailing-slash fallback).
        let granted = self.rule_for(path, true).map(|p| p.capabilities);
        match granted {
            Some(set) if !set.is_deny() && !set.is_empty() => {
                set.names().into_iter().map(str::to_owned).collect()
            }
            _ => vec![Capability::Deny.as_str().to_owned()],
        }
    }

    /// Full check of an unwrapped request: capability, then parameters.
    pub fn check(
        &self,
        path: &str,
        capability: &str,
        params: &Map<String, Value>,
    ) -> Result<(), AclDenied> {
        self.check_wrapped(path, capability, params, None)
    }

    /// Full check; `wrap_ttl` is the requested response-wrapping TTL, if any.
    ///
    /// `capability` is a capability or Vault operation name: create, read,
    /// update, patch, delete, list, sudo, subscribe, recover; `revoke`,
    /// `renew` and `rollback` need update; `help` is always allowed.
    /// Parameter constraints apply to create, read, update, patch, recover.
    pub fn check_wrapped(
        &self,
        path: &str,
        capability: &str,
        params: &Map<String, Value>,
        wrap_ttl: Option<Duration>,
    ) -> Result<(), AclDenied> {
        if self.root || capability == "help" {
            return Ok(());
        }
        self.evaluate(path, capability, params, wrap_ttl)
            .map_err(|reason| AclDenied {
                path: path.to_owned(),
                capability: capability.to_owned(),
                reason,
            })
    }

    fn evaluate(
        &self,
        path: &str,
        name: &str,
        params: &Map<String, Value>,
        wrap_ttl: Option<Duration>,
    ) -> Result<(), DenyReason> {
        let capability = operation_capability(name).ok_or(DenyReason::UnknownCapability)?;
        let rule = self
            .rule_for(path, capability == Capability::List)
            .ok_or(DenyReason::NoMatchingRule)?;
        if rule.capabilities.is_deny() {
            return Err(DenyReason::ExplicitDeny);
        }
        if !rule.capabilities.contains(capability) {
            return Err(DenyReason::CapabilityNotGranted);
        }
        check_wrapping(rule, wrap_ttl)?;
        if checks_parameters(capability) {
            check_parameters(rule, params)?;
        }
        Ok(())
    }

    /// The one merged rule that governs `path`, if any. With `list`, Vault's
    /// list fallbacks apply: a trailing `/` may be dropped to find a rule.
    pub fn rule_for(&self, path: &str, list: bool) -> Option<&Permissions> {
        let path = path.trim_start_matches('/');
        if let Some(exact) = self.exact.get(path) {
            return Some(exact);
        }
        if list {
            if let Some(found) = self.list_fallback(path) {
                return Some(found);
            }
        }
        self.non_exact(path)
    }

    /// For `secret/foo/`: the exact rule `secret/foo`, else the non-exact
    /// rule that matches `secret/foo`.
    fn list_fallback(&self, path: &str) -> Option<&Permissions> {
        let trimmed = path.strip_suffix('/')?;
        self.exact.get(trimmed).or_else(|| self.non_exact(trimmed))
    }

    /// The best `*` prefix or `+` pattern match.
    fn non_exact(&self, path: &str) -> Option<&Permissions> {
        let prefix = self.longest_prefix(path);
        if self.segments.is_empty() {
            return prefix.map(|(_, perms)| perms);
        }
        let parts: Vec<&str> = path.split('/').collect();
        let prefix = prefix.map(|(key, perms)| (Candidate::prefix(key), perms));
        let segments = self
            .segments
            .iter()
            .filter_map(|(pattern, perms)| Some((segment_match(pattern, &parts)?, perms)));
        prefix
            .into_iter()
            .chain(segments)
            .max_by_key(|(candidate, _)| candidate.priority())
            .map(|(_, perms)| perms)
    }

    fn longest_prefix(&self, path: &str) -> Option<(&str, &Permissions)> {
        if self.prefix.is_empty() {
            return None;
        }
        (0..=path.len())
            .rev()
            .filter(|&end| path.is_char_boundary(end))
            .find_map(|end| self.prefix.get_key_value(&path[..end]))
            .map(|(key, perms)| (key.as_str(), perms))
    }
}

/// The capability an operation or capability name requires.
fn operation_capability(name: &str) -> Option<Capability> {
    match name {
        "revoke" | "renew" | "rollback" => Some(Capability::Update),
        "deny" => None,
        other => Capability::from_name(other),
    }
}

fn checks_parameters(capability: Capability) -> bool {
    matches!(
        capability,
        Capability::Create
            | Capability::Read
            | Capability::Update
            | Capability::Patch
            | Capability::Recover
    )
}

#[cfg(test)]
#[path = "acl_tests.rs"]
mod tests;
