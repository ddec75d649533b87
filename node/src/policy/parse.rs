//! Policy text (HCL or JSON) to [`Policy`].
//!
//! Both syntaxes are first turned into one JSON-shaped tree (`hcl-rs` follows
//! the HCL JSON spec, so `path "a" { ... }` becomes `{"path": {"a": {...}}}`
//! and repeated blocks become arrays), then one walker reads that tree.

use std::time::Duration;

use serde_json::{Map, Value};

use super::capability::{Capability, CapabilitySet};
use super::error::{PolicyError, RuleError};
use super::rule::{ParamMap, PathMatcher, PathRule, Permissions, Policy};
use super::template::{is_templated, parse_template};
use super::ttl::parse_duration_value;

const TOP_LEVEL_KEYS: [&str; 2] = ["name", "path"];

const RULE_KEYS: [&str; 11] = [
    "comment",
    "policy",
    "capabilities",
    "allowed_parameters",
    "denied_parameters",
    "required_parameters",
    "min_wrapping_ttl",
    "max_wrapping_ttl",
    "mfa_methods",
    "control_group",
    "subscribe_event_types",
];

/// Parses a policy named `name` from HCL or JSON text.
pub fn parse_policy(name: &str, text: &str) -> Result<Policy, PolicyError> {
    let document = parse_document(text)?;
    let root = document
        .as_object()
        .ok_or_else(|| PolicyError::Syntax("does not contain a root object".into()))?;
    Ok(Policy {
        name: normalize_name(name),
        raw: text.to_owned(),
        rules: parse_rules(root)?,
    })
}

/// Policy names are case-insensitive: Vault trims and lower-cases them.
pub fn normalize_name(name: &str) -> String {
    name.trim().to_lowercase()
}

fn parse_document(text: &str) -> Result<Value, PolicyError> {
    let hcl = |text| hcl::from_str::<Value>(text);
    if !text.trim_start().starts_with('{') {
        return hcl(text).map_err(|e| PolicyError::Syntax(e.to_string()));
    }
    match serde_json::from_str::<Value>(text) {
        Ok(value) => Ok(value),
        Err(json_error) => hcl(text).map_err(|_| PolicyError::Syntax(json_error.to_string())),
    }
}

fn parse_rules(root: &Map<String, Value>) -> Result<Vec<PathRule>, PolicyError> {
    if let Some(key) = root.keys().find(|k| !TOP_LEVEL_KEYS.contains(&k.as_str())) {
        return Err(PolicyError::InvalidKey(key.clone()));
    }
    let mut blocks = Vec::new();
    if let Some(paths) = root.get("path") {
        collect_blocks(paths, &mut blocks)?;
    }
    blocks
        .into_iter()
        .map(|(label, body)| {
            parse_rule(label, body).map_err(|problem| PolicyError::Rule {
                path: label.to_owned(),
                problem,
            })
        })
        .collect()
}

/// Flattens `{"a": {...}, "b": [{...}, {...}]}` and `[{"a": {...}}, ...]`
/// into `(label, body)` pairs.
fn collect_blocks<'v>(
    value: &'v Value,
    out: &mut Vec<(&'v str, &'v Map<String, Value>)>,
) -> Result<(), PolicyError> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| collect_blocks(item, out)),
        Value::Object(labelled) => labelled
            .iter()
            .try_for_each(|(label, body)| collect_bodies(label, body, out)),
        _ => Err(PolicyError::Syntax("path: expected a block".into())),
    }
}

fn collect_bodies<'v>(
    label: &'v str,
    body: &'v Value,
    out: &mut Vec<(&'v str, &'v Map<String, Value>)>,
) -> Result<(), PolicyError> {
    match body {
        Value::Object(map) => out.push((label, map)),
        Value::Array(items) => {
            return items
                .iter()
                .try_for_each(|item| collect_bodies(label, item, out))
        }
        _ => {
            return Err(PolicyError::Rule {
                path: label.to_owned(),
                problem: RuleError::WrongType {
                    field: "path",
                    expected: "a block",
                },
            })
        }
    }
    Ok(())
}

fn parse_rule(label: &str, body: &Map<String, Value>) -> Result<PathRule, RuleError> {
    if let Some(key) = body.keys().find(|k| !RULE_KEYS.contains(&k.as_str())) {
        return Err(RuleError::InvalidKey(key.clone()));
    }
    let path = label.strip_prefix('/').unwrap_or(label);
    if path.contains("+*") {
        return Err(RuleError::PlusGlob);
    }
    let template = if is_templated(path) {
        Some(parse_template(path).map_err(RuleError::Template)?)
    } else {
        None
    };
    let capabilities = parse_capabilities(body)?;
    // As in Vault, a deny rule ignores (and does not validate) the rest.
    let permissions = if capabilities.is_deny() {
        Permissions::deny()
    } else {
        parse_permissions(body, capabilities)?
    };
    Ok(PathRule {
        path: path.to_owned(),
        matcher: PathMatcher::from_pattern(path),
        permissions,
        template,
    })
}

fn parse_capabilities(body: &Map<String, Value>) -> Result<CapabilitySet, RuleError> {
    let mut names = string_list(body, "capabilities")?;
    match body.get("policy") {
        None => {}
        Some(Value::String(legacy)) => apply_legacy_policy(legacy, &mut names)?,
        Some(_) => {
            return Err(RuleError::WrongType {
                field: "policy",
                expected: "a string",
            })
        }
    }
    let mut set = CapabilitySet::EMPTY;
    for name in names {
        match Capability::from_name(&name) {
            Some(Capability::Deny) => return Ok(CapabilitySet::deny()),
            Some(capability) => set.insert(capability),
            None => return Err(RuleError::InvalidCapability(name)),
        }
    }
    Ok(set)
}

/// The pre-0.5 `policy = "read"` field, mapped exactly as Vault maps it.
fn apply_legacy_policy(legacy: &str, names: &mut Vec<String>) -> Result<(), RuleError> {
    let extra: &[&str] = match legacy {
        "" => &[],
        "deny" => {
            *names = vec!["deny".to_owned()];
            return Ok(());
        }
        "read" => &["read", "list"],
        "write" => &["create", "read", "update", "delete", "list"],
        "sudo" => &["create", "read", "update", "delete", "list", "sudo"],
        other => return Err(RuleError::InvalidPolicy(other.to_owned())),
    };
    names.extend(extra.iter().map(|s| (*s).to_owned()));
    Ok(())
}

fn parse_permissions(
    body: &Map<String, Value>,
    capabilities: CapabilitySet,
) -> Result<Permissions, RuleError> {
    let permissions = Permissions {
        capabilities,
        allowed_parameters: param_map(body, "allowed_parameters")?,
        denied_parameters: param_map(body, "denied_parameters")?,
        required_parameters: string_list(body, "required_parameters")?,
        min_wrapping_ttl: wrapping_ttl(body, "min_wrapping_ttl")?,
        max_wrapping_ttl: wrapping_ttl(body, "max_wrapping_ttl")?,
        mfa_methods: string_list(body, "mfa_methods")?,
        control_group: body.get("control_group").cloned(),
        subscribe_event_types: string_list(body, "subscribe_event_types")?,
    };
    if let (Some(min), Some(max)) = (permissions.min_wrapping_ttl, permissions.max_wrapping_ttl) {
        if max < min {
            return Err(RuleError::WrappingTtlOrder);
        }
    }
    Ok(permissions)
}

/// A list of strings; a lone string is taken as a one-element list.
fn string_list(body: &Map<String, Value>, field: &'static str) -> Result<Vec<String>, RuleError> {
    let wrong = || RuleError::WrongType {
        field,
        expected: "a list of strings",
    };
    match body.get(field) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::String(s)) => Ok(vec![s.clone()]),
        Some(Value::Array(items)) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        Some(_) => Err(wrong()),
    }
}

/// `{ "name" = ["v1", "v2*"] }`, keys lower-cased; a lone value is a
/// one-element list and `[]` means any value.
fn param_map(body: &Map<String, Value>, field: &'static str) -> Result<ParamMap, RuleError> {
    let entries = match body.get(field) {
        None | Some(Value::Null) => return Ok(ParamMap::new()),
        Some(Value::Object(entries)) => entries,
        Some(_) => {
            return Err(RuleError::WrongType {
                field,
                expected: "a map of parameter names to lists of values",
            })
        }
    };
    let values = |value: &Value| match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        single => vec![single.clone()],
    };
    Ok(entries
        .iter()
        .map(|(key, value)| (key.to_lowercase(), values(value)))
        .collect())
}

/// A wrapping TTL; zero means unset, as in Vault.
fn wrapping_ttl(
    body: &Map<String, Value>,
    field: &'static str,
) -> Result<Option<Duration>, RuleError> {
    let Some(value) = body.get(field) else {
        return Ok(None);
    };
    let ttl =
        parse_duration_value(value).map_err(|message| RuleError::Duration { field, message })?;
    Ok((!ttl.is_zero()).then_some(ttl))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn rule(text: &str) -> PathRule {
        let mut policy = parse_policy("t", text).expect("policy parses");
        assert_eq!(policy.rules.len(), 1);
        policy.rules.remove(0)
    }

    fn problem(text: &str) -> RuleError {
        match parse_policy("t", text) {
            Err(PolicyError::Rule { problem, .. }) => problem,
            other => panic!("expected a rule error, got {other:?}"),
        }
    }

    #[test]
    fn parses_hcl_path_blocks() {
        let policy = parse_policy(
            "App-Reader ",
            r#"
            # comment
            path "secret/data/app/*" { capabilities = ["read", "list"] }
            path "/secret/data/app" { capabilities = ["read"] }
            "#,
        )
        .unwrap();
        assert_eq!(policy.name, "app-reader");
        assert!(policy.raw.contains("secret/data/app/*"));
        assert_eq!(policy.rules.len(), 2);
        let paths: Vec<&str> = policy.rules.iter().map(|r| r.path.as_str()).collect();
        assert!(paths.contains(&"secret/data/app/*"));
        assert!(paths.contains(&"secret/data/app"));
        let glob = policy.rules.iter().find(|r| r.path.ends_with('*')).unwrap();
        assert_eq!(glob.matcher, PathMatcher::Prefix("secret/data/app/".into()));
        assert_eq!(glob.permissions.capabilities.names(), vec!["list", "read"]);
    }

    #[test]
    fn repeated_blocks_for_one_path_are_kept() {
        let policy = parse_policy(
            "t",
            r#"
            path "a" { capabilities = ["read"] }
            path "a" { capabilities = ["list"] }
            "#,
        )
        .unwrap();
        assert_eq!(policy.rules.len(), 2);
    }

    #[test]
    fn parses_json() {
        let policy = parse_policy(
            "j",
            r#"{"path": {"secret/*": {"capabilities": ["create", "read"]},
                         "sys/mounts": {"policy": "read"}}}"#,
        )
        .unwrap();
        assert_eq!(policy.rules.len(), 2);
        let list =
            r#"{"path": [{"a": {"capabilities": ["read"]}}, {"b": {"capabilities": ["list"]}}]}"#;
        assert_eq!(parse_policy("j", list).unwrap().rules.len(), 2);
    }

    #[test]
    fn legacy_policy_field() {
        let names = |p: &str| {
            let text = format!(r#"path "a" {{ policy = "{p}" }}"#);
            rule(&text).permissions.capabilities.names()
        };
        assert_eq!(names("read"), vec!["list", "read"]);
        assert_eq!(
            names("write"),
            vec!["create", "delete", "list", "read", "update"]
        );
        assert_eq!(
            names("sudo"),
            vec!["create", "delete", "list", "read", "sudo", "update"]
        );
        assert_eq!(names("deny"), vec!["deny"]);
        assert_eq!(
            problem(r#"path "a" { policy = "admin" }"#),
            RuleError::InvalidPolicy("admin".into())
        );
    }

    #[test]
    fn all_capabilities_accepted() {
        let r = rule(
            r#"path "a" { capabilities = ["create", "read", "update", "patch",
                "delete", "list", "sudo", "subscribe", "recover"] }"#,
        );
        assert_eq!(r.permissions.capabilities.names().len(), 9);
    }

    #[test]
    fn unknown_capability_is_rejected_with_vault_message() {
        let err =
            parse_policy("t", r#"path "secret/*" { capabilities = ["read", "fly"] }"#).unwrap_err();
        assert_eq!(
            err.to_string(),
            r#"failed to parse policy: path "secret/*": invalid capability "fly""#
        );
    }

    #[test]
    fn deny_drops_everything_else() {
        let r = rule(
            r#"path "a" {
                capabilities = ["read", "deny"]
                allowed_parameters = { "x" = [] }
            }"#,
        );
        assert_eq!(r.permissions, Permissions::deny());
    }

    #[test]
    fn invalid_hcl_and_keys() {
        let err = parse_policy("t", r#"path "a" { capabilities = ["read" "#).unwrap_err();
        assert!(matches!(err, PolicyError::Syntax(_)));
        assert!(err.to_string().starts_with("failed to parse policy: "));
        let err = parse_policy("t", r#"{"path": "#).unwrap_err();
        assert!(matches!(err, PolicyError::Syntax(_)));
        assert_eq!(
            parse_policy("t", r#"paths "a" { capabilities = ["read"] }"#),
            Err(PolicyError::InvalidKey("paths".into()))
        );
        assert_eq!(
            problem(r#"path "a" { capabilites = ["read"] }"#),
            RuleError::InvalidKey("capabilites".into())
        );
        assert_eq!(
            problem(r#"path "a/+*" { capabilities = ["read"] }"#),
            RuleError::PlusGlob
        );
    }

    #[test]
    fn empty_policy_has_no_rules() {
        assert!(parse_policy("t", "").unwrap().rules.is_empty());
        assert!(parse_policy("t", "# nothing\n").unwrap().rules.is_empty());
    }

    #[test]
    fn parameters_and_wrapping_ttls() {
        let r = rule(
            r#"path "secret/foo" {
                capabilities = ["create", "update"]
                allowed_parameters = {
                    "Bar" = ["zip", "zap*"]
                    "*" = []
                }
                denied_parameters = { "baz" = [] }
                required_parameters = ["bar"]
                min_wrapping_ttl = "1m"
                max_wrapping_ttl = 3600
            }"#,
        );
        let p = &r.permissions;
        assert_eq!(
            p.allowed_parameters["bar"],
            vec![json!("zip"), json!("zap*")]
        );
        assert_eq!(p.allowed_parameters["*"], Vec::<Value>::new());
        assert_eq!(p.denied_parameters["baz"], Vec::<Value>::new());
        assert_eq!(p.required_parameters, vec!["bar".to_owned()]);
        assert_eq!(p.min_wrapping_ttl, Some(Duration::from_secs(60)));
        assert_eq!(p.max_wrapping_ttl, Some(Duration::from_secs(3600)));
    }

    #[test]
    fn wrapping_ttl_errors() {
        assert_eq!(
            problem("path \"a\" {\n min_wrapping_ttl = \"2h\"\n max_wrapping_ttl = \"1h\"\n}"),
            RuleError::WrappingTtlOrder
        );
        assert!(matches!(
            problem(r#"path "a" { max_wrapping_ttl = "soon" }"#),
            RuleError::Duration {
                field: "max_wrapping_ttl",
                ..
            }
        ));
    }

    #[test]
    fn wrong_types_are_reported() {
        assert!(matches!(
            problem(r#"path "a" { capabilities = [1] }"#),
            RuleError::WrongType {
                field: "capabilities",
                ..
            }
        ));
        assert!(matches!(
            problem(r#"path "a" { allowed_parameters = ["x"] }"#),
            RuleError::WrongType {
                field: "allowed_parameters",
                ..
            }
        ));
    }
}
