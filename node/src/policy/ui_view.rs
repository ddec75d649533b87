//! What a UI may learn of a token's [`Acl`]: the resultant ACL (`sys/internal/ui/resultant-acl`,
//! the shape Vault's `pathInternalUIResultantACL` answers) and whether the token has any access
//! under a mount (Vault's `hasMountAccess`, which filters `sys/internal/ui/mounts`).

use std::collections::BTreeMap;

use serde_json::{json, Map, Value};

use super::acl::Acl;
use super::capability::Capability;
use super::rule::Permissions;

impl Acl {
    /// `{"root": true}` for root; else `root: false` with `exact_paths` and `glob_paths` (keyed by
    /// the prefix without its `*`), each rule as `capabilities` (sorted; `["deny"]` when it
    /// denies or grants nothing) and the constraints it carries. Like Vault, `+` patterns are
    /// not listed.
    pub fn resultant(&self) -> Value {
        if self.root {
            return json!({ "root": true });
        }
        json!({
            "root": false,
            "exact_paths": rules_json(&self.exact),
            "glob_paths": rules_json(&self.prefix),
        })
    }

    /// Whether the token may do anything at or under `mount` (a mount path such as `secret/` or
    /// `auth/userpass/`): a rule granting something on the mount itself, on a path below it, or
    /// a `+` pattern that could match below it.
    pub fn has_mount_access(&self, mount: &str) -> bool {
        if self.root {
            return true;
        }
        let mount = mount.trim_start_matches('/');
        if self.rule_for(mount, true).is_some_and(grants) {
            return true;
        }
        let below = |rules: &BTreeMap<String, Permissions>| {
            rules
                .range(mount.to_owned()..)
                .take_while(|(k, _)| k.starts_with(mount))
                .any(|(_, p)| grants(p))
        };
        if below(&self.exact) || below(&self.prefix) {
            return true;
        }
        let parts: Vec<&str> = mount.trim_end_matches('/').split('/').collect();
        self.segments
            .iter()
            .any(|(pattern, p)| grants(p) && could_match_below(pattern, &parts))
    }
}

/// A rule that grants at least one capability (and does not deny).
fn grants(p: &Permissions) -> bool {
    !p.capabilities.is_deny() && !p.capabilities.is_empty()
}

/// Whether a `+` pattern's leading segments match every segment of the mount path.
fn could_match_below(pattern: &str, mount_parts: &[&str]) -> bool {
    let parts: Vec<&str> = pattern.trim_end_matches('*').split('/').collect();
    if parts.len() < mount_parts.len() {
        return false;
    }
    mount_parts
        .iter()
        .zip(&parts)
        .enumerate()
        .all(|(i, (m, p))| {
            let last = i + 1 == parts.len();
            match *p {
                "+" => !m.is_empty(),
                p if last && pattern.ends_with('*') => m.starts_with(p),
                p => p == *m,
            }
        })
}

fn rules_json(rules: &BTreeMap<String, Permissions>) -> Value {
    let mut out = Map::new();
    for (path, p) in rules {
        out.insert(path.clone(), rule_json(p));
    }
    Value::Object(out)
}

fn rule_json(p: &Permissions) -> Value {
    let capabilities: Vec<&str> = if grants(p) {
        p.capabilities
            .names()
            .into_iter()
            .filter(|n| *n != Capability::Deny.as_str())
            .collect()
    } else {
        vec![Capability::Deny.as_str()]
    };
    let mut rule = Map::new();
    rule.insert("capabilities".into(), json!(capabilities));
    if let Some(ttl) = p.min_wrapping_ttl.filter(|t| !t.is_zero()) {
        rule.insert("min_wrapping_ttl".into(), json!(ttl.as_secs()));
    }
    if let Some(ttl) = p.max_wrapping_ttl.filter(|t| !t.is_zero()) {
        rule.insert("max_wrapping_ttl".into(), json!(ttl.as_secs()));
    }
    if !p.allowed_parameters.is_empty() {
        rule.insert("allowed_parameters".into(), json!(p.allowed_parameters));
    }
    if !p.denied_parameters.is_empty() {
        rule.insert("denied_parameters".into(), json!(p.denied_parameters));
    }
    if !p.required_parameters.is_empty() {
        rule.insert("required_parameters".into(), json!(p.required_parameters));
    }
    Value::Object(rule)
}

#[cfg(test)]
mod tests {
    use super::super::{parse_policy, Acl};
    use serde_json::json;

    fn acl(text: &str) -> Acl {
        let policy = parse_policy("p", text).expect("policy parses");
        Acl::new([&policy])
    }

    #[test]
    fn resultant_lists_exact_and_glob_rules_as_vault_does() {
        let a = acl(r#"
            path "secret/data/app" { capabilities = ["read", "list"] }
            path "secret/data/team/*" {
                capabilities = ["create", "update"]
                allowed_parameters = { "x" = [] }
            }
            path "secret/data/team/locked" { capabilities = ["deny"] }
            path "secret/+/other" { capabilities = ["read"] }
        "#);
        assert_eq!(
            a.resultant(),
            json!({
                "root": false,
                "exact_paths": {
                    "secret/data/app": {"capabilities": ["list", "read"]},
                    "secret/data/team/locked": {"capabilities": ["deny"]},
                },
                "glob_paths": {
                    "secret/data/team/": {"capabilities": ["create", "update"], "allowed_parameters": {"x": []}},
                },
            })
        );
    }

    #[test]
    fn root_resultant_says_only_root() {
        let root = Acl::new([&parse_policy("root", "").expect("empty parses")]);
        assert_eq!(root.resultant(), json!({"root": true}));
    }

    #[test]
    fn mount_access_needs_a_grant_at_or_below_the_mount() {
        let a = acl(r#"
            path "secret/data/app/*" { capabilities = ["read"] }
            path "kv1/x" { capabilities = ["deny"] }
            path "other/+/x" { capabilities = ["list"] }
            path "auth/userpass/users/bob" { capabilities = ["update"] }
        "#);
        assert!(a.has_mount_access("secret/"));
        assert!(a.has_mount_access("auth/userpass/"));
        assert!(!a.has_mount_access("kv1/"), "a deny is no access");
        assert!(
            a.has_mount_access("other/"),
            "a + pattern could match below it"
        );
        assert!(!a.has_mount_access("auth/kubernetes/"));
        let none = acl(r#"path "secret/data/app" { capabilities = ["read"] }"#);
        assert!(!none.has_mount_access("transit/"));
        assert!(
            !none.has_mount_access("sec/"),
            "a mount path is whole segments"
        );
    }
}
