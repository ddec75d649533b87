//! The parsed form of a policy: named rules, one per `path` block.
//!
//! A [`Policy`] keeps its raw text because that is what the store persists;
//! everything else here is derived from it by [`parse_policy`](super::parse_policy).

use std::collections::BTreeMap;
use std::time::Duration;

use serde_json::Value;

use super::capability::CapabilitySet;
use super::template::{render, IdentityView, Piece};

/// Parameter name (lower-cased) to the values it may (or may not) take. An
/// empty value list means "any value".
pub type ParamMap = BTreeMap<String, Vec<Value>>;

/// A parsed ACL policy.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    /// Normalised name: trimmed and lower-cased.
    pub name: String,
    /// The text as submitted; the store saves this and re-parses it.
    pub raw: String,
    /// One rule per `path` block, in document order.
    pub rules: Vec<PathRule>,
}

impl Policy {
    /// Whether any rule uses identity templating (`{{identity.entity.id}}`).
    pub fn is_templated(&self) -> bool {
        self.rules.iter().any(PathRule::is_templated)
    }
}

/// One `path "..." { ... }` block.
#[derive(Debug, Clone, PartialEq)]
pub struct PathRule {
    /// The path as written, minus one leading `/`; a trailing `*` is kept.
    pub path: String,
    pub matcher: PathMatcher,
    pub permissions: Permissions,
    /// The path's identity template, parsed, when it has one: the rule applies only once
    /// filled from the caller's identity (`Acl::with_identity`).
    pub template: Option<Vec<Piece>>,
}

impl PathRule {
    /// Templated rules only apply once resolved against an identity entity;
    /// without one, or with a value missing, the ACL skips them, as Vault does.
    pub fn is_templated(&self) -> bool {
        self.template.is_some()
    }

    /// The rule with its path filled from `identity`, or `None` when it cannot be.
    pub fn resolved(&self, identity: Option<&IdentityView>) -> Option<PathRule> {
        let Some(pieces) = &self.template else {
            return Some(self.clone());
        };
        let path = render(pieces, identity)?;
        if path.contains("+*") {
            return None;
        }
        Some(PathRule {
            matcher: PathMatcher::from_pattern(&path),
            path,
            permissions: self.permissions.clone(),
            template: None,
        })
    }
}

/// How a rule's path matches request paths.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PathMatcher {
    /// The path matches only itself.
    Exact(String),
    /// The path ended in `*` (stripped here): matches every path it prefixes.
    Prefix(String),
    /// The path has `+` segments; the full pattern, trailing `*` included.
    Segments(String),
}

impl PathMatcher {
    /// Classifies a pattern the way Vault does. `+*` must be rejected first.
    pub fn from_pattern(path: &str) -> PathMatcher {
        let has_segments = path == "+" || path.contains("/+") || path.starts_with("+/");
        match path.strip_suffix('*') {
            _ if has_segments => PathMatcher::Segments(path.to_owned()),
            Some(prefix) => PathMatcher::Prefix(prefix.to_owned()),
            None => PathMatcher::Exact(path.to_owned()),
        }
    }
}

/// What a rule grants, and the constraints that come with it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Permissions {
    pub capabilities: CapabilitySet,
    pub allowed_parameters: ParamMap,
    pub denied_parameters: ParamMap,
    pub required_parameters: Vec<String>,
    /// `None` when unset (Vault's zero).
    pub min_wrapping_ttl: Option<Duration>,
    pub max_wrapping_ttl: Option<Duration>,
    /// Parsed and kept; not enforced here.
    pub mfa_methods: Vec<String>,
    /// Parsed and kept as written; not enforced here.
    pub control_group: Option<Value>,
    /// Parsed and kept; the events subsystem filters with it.
    pub subscribe_event_types: Vec<String>,
}

impl Permissions {
    /// A rule that denies everything; deny drops every other setting.
    pub fn deny() -> Permissions {
        Permissions {
            capabilities: CapabilitySet::deny(),
            ..Permissions::default()
        }
    }

    /// Folds another policy's rule for the same pattern into this one, as
    /// Vault's `NewACL` does: deny wins, capabilities union, the smaller
    /// wrapping TTLs win, parameter lists merge (an empty list wins).
    pub fn merge(&mut self, other: &Permissions) {
        if self.capabilities.is_deny() {
            return;
        }
        if other.capabilities.is_deny() {
            *self = Permissions::deny();
            return;
        }
        self.capabilities = self.capabilities.union(other.capabilities);
        self.min_wrapping_ttl = smaller_set(self.min_wrapping_ttl, other.min_wrapping_ttl);
        self.max_wrapping_ttl = smaller_set(self.max_wrapping_ttl, other.max_wrapping_ttl);
        merge_params(&mut self.allowed_parameters, &other.allowed_parameters);
        merge_params(&mut self.denied_parameters, &other.denied_parameters);
        union_into(&mut self.required_parameters, &other.required_parameters);
        union_into(&mut self.mfa_methods, &other.mfa_methods);
        union_into(
            &mut self.subscribe_event_types,
            &other.subscribe_event_types,
        );
        if self.control_group.is_none() {
            self.control_group.clone_from(&other.control_group);
        }
    }
}

fn smaller_set(a: Option<Duration>, b: Option<Duration>) -> Option<Duration> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

fn merge_params(into: &mut ParamMap, from: &ParamMap) {
    for (key, values) in from {
        match into.get_mut(key) {
            None => {
                into.insert(key.clone(), values.clone());
            }
            Some(existing) if existing.is_empty() => {}
            Some(existing) if values.is_empty() => existing.clear(),
            Some(existing) => existing.extend(values.iter().cloned()),
        }
    }
}

fn union_into(into: &mut Vec<String>, from: &[String]) {
    for item in from {
        if !into.contains(item) {
            into.push(item.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::policy::capability::Capability;
    use serde_json::json;

    fn caps(list: &[Capability]) -> CapabilitySet {
        list.iter().copied().collect()
    }

    #[test]
    fn matcher_classification() {
        use PathMatcher::*;
        assert_eq!(PathMatcher::from_pattern("a/b"), Exact("a/b".into()));
        assert_eq!(PathMatcher::from_pattern("a/b*"), Prefix("a/b".into()));
        assert_eq!(PathMatcher::from_pattern("*"), Prefix(String::new()));
        assert_eq!(PathMatcher::from_pattern("a/+/b"), Segments("a/+/b".into()));
        assert_eq!(PathMatcher::from_pattern("+/b*"), Segments("+/b*".into()));
        assert_eq!(PathMatcher::from_pattern("+"), Segments("+".into()));
        assert_eq!(PathMatcher::from_pattern("a/*/b"), Exact("a/*/b".into()));
    }

    #[test]
    fn merge_unions_and_deny_wins() {
        let mut a = Permissions {
            capabilities: caps(&[Capability::Read]),
            ..Permissions::default()
        };
        let b = Permissions {
            capabilities: caps(&[Capability::List]),
            max_wrapping_ttl: Some(Duration::from_secs(60)),
            ..Permissions::default()
        };
        a.merge(&b);
        assert_eq!(a.capabilities.names(), vec!["list", "read"]);
        assert_eq!(a.max_wrapping_ttl, Some(Duration::from_secs(60)));
        a.merge(&Permissions::deny());
        assert_eq!(a, Permissions::deny());
        a.merge(&b);
        assert_eq!(a, Permissions::deny());
    }

    #[test]
    fn merge_params_empty_list_wins() {
        let mut into: ParamMap = [("a".to_owned(), vec![json!("x")])].into();
        let from: ParamMap = [("a".to_owned(), vec![]), ("b".to_owned(), vec![json!(1)])].into();
        merge_params(&mut into, &from);
        assert_eq!(into["a"], Vec::<Value>::new());
        assert_eq!(into["b"], vec![json!(1)]);
        merge_params(&mut into, &[("b".to_owned(), vec![json!(2)])].into());
        assert_eq!(into["b"], vec![json!(1), json!(2)]);
    }
}
