//! Request-parameter and wrapping-TTL constraints of a matched rule, as
//! Vault 1.16's `AllowOperation` applies them.
//!
//! Value lists match as Vault's `valueInParameterList`: an empty list matches
//! anything; a string entry matches a string value with at most one leading
//! and/or trailing `*` glob (`"foo-*"`, `"*-bar"`, `"*mid*"`; a lone `"*"`
//! is the literal string, as in Vault); other entries must be equal (numbers
//! compare numerically). A list value is matched as a whole, not per element.

use std::time::Duration;

use serde_json::{Map, Value};

use super::error::DenyReason;
use super::rule::{ParamMap, Permissions};

/// Checks required, denied and allowed parameters against request data.
pub(crate) fn check_parameters(
    permissions: &Permissions,
    data: &Map<String, Value>,
) -> Result<(), DenyReason> {
    for required in &permissions.required_parameters {
        if !data.contains_key(&required.to_lowercase()) {
            return Err(DenyReason::MissingRequiredParameter(required.clone()));
        }
    }
    if data.is_empty() {
        return Ok(());
    }
    check_denied(&permissions.denied_parameters, data)?;
    check_allowed(&permissions.allowed_parameters, data)
}

fn check_denied(denied: &ParamMap, data: &Map<String, Value>) -> Result<(), DenyReason> {
    if denied.contains_key("*") {
        return Err(DenyReason::DeniedParameter("*".into()));
    }
    for (name, value) in data {
        if let Some(list) = denied.get(&name.to_lowercase()) {
            if value_in_list(value, list) {
                return Err(DenyReason::DeniedParameter(name.clone()));
            }
        }
    }
    Ok(())
}

fn check_allowed(allowed: &ParamMap, data: &Map<String, Value>) -> Result<(), DenyReason> {
    if allowed.is_empty() {
        return Ok(());
    }
    let allow_all = allowed.contains_key("*");
    if allow_all && allowed.len() == 1 {
        return Ok(());
    }
    for (name, value) in data {
        let permitted = match allowed.get(&name.to_lowercase()) {
            Some(list) => value_in_list(value, list),
            None => allow_all,
        };
        if !permitted {
            return Err(DenyReason::ParameterNotAllowed(name.clone()));
        }
    }
    Ok(())
}

fn value_in_list(value: &Value, list: &[Value]) -> bool {
    list.is_empty() || list.iter().any(|entry| value_matches(entry, value))
}

fn value_matches(entry: &Value, value: &Value) -> bool {
    match (entry, value) {
        (Value::String(pattern), Value::String(s)) => globbed_match(pattern, s),
        (Value::Number(a), Value::Number(b)) => a == b || a.as_f64() == b.as_f64(),
        _ => entry == value,
    }
}

/// Vault's `strutil.GlobbedStringsMatch`.
fn globbed_match(pattern: &str, value: &str) -> bool {
    if pattern.len() < 2 {
        return pattern == value;
    }
    match (pattern.strip_prefix('*'), pattern.strip_suffix('*')) {
        (Some(_), Some(_)) => value.contains(&pattern[1..pattern.len() - 1]),
        (Some(suffix), None) => value.ends_with(suffix),
        (None, Some(prefix)) => value.starts_with(prefix),
        (None, None) => pattern == value,
    }
}

/// `min_wrapping_ttl` / `max_wrapping_ttl`: set ones require a wrapped
/// request whose TTL falls inside them.
pub(crate) fn check_wrapping(
    permissions: &Permissions,
    wrap_ttl: Option<Duration>,
) -> Result<(), DenyReason> {
    let (min, max) = (permissions.min_wrapping_ttl, permissions.max_wrapping_ttl);
    let too_long = max.is_some_and(|max| wrap_ttl.is_none_or(|ttl| ttl > max));
    let too_short = min.is_some_and(|min| wrap_ttl.is_none_or(|ttl| ttl < min));
    // Merging rules from several policies can leave max below min.
    let contradictory = matches!((min, max), (Some(min), Some(max)) if max < min);
    if too_long || too_short || contradictory {
        return Err(DenyReason::WrappingTtl);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn data(value: Value) -> Map<String, Value> {
        value.as_object().cloned().unwrap()
    }

    fn params(pairs: &[(&str, Vec<Value>)]) -> ParamMap {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect()
    }

    #[test]
    fn globbed_match_like_vault() {
        assert!(globbed_match("foo-*", "foo-bar"));
        assert!(!globbed_match("foo-*", "bar-foo"));
        assert!(globbed_match("*-bar", "foo-bar"));
        assert!(globbed_match("*mid*", "a-mid-b"));
        assert!(globbed_match("exact", "exact"));
        assert!(!globbed_match("exact", "exact2"));
        assert!(globbed_match("*", "*"));
        assert!(!globbed_match("*", "anything"));
    }

    #[test]
    fn required_parameters() {
        let perms = Permissions {
            required_parameters: vec!["Name".into()],
            ..Permissions::default()
        };
        assert_eq!(
            check_parameters(&perms, &Map::new()),
            Err(DenyReason::MissingRequiredParameter("Name".into()))
        );
        assert_eq!(check_parameters(&perms, &data(json!({"name": 1}))), Ok(()));
    }

    #[test]
    fn allowed_parameters_with_globs_and_wildcard_key() {
        let perms = Permissions {
            allowed_parameters: params(&[("bar", vec![json!("zip"), json!("zap-*")])]),
            ..Permissions::default()
        };
        let check = |d: Value| check_parameters(&perms, &data(d));
        assert_eq!(check(json!({})), Ok(()));
        assert_eq!(check(json!({"bar": "zip"})), Ok(()));
        assert_eq!(check(json!({"BAR": "zap-1"})), Ok(()));
        assert!(check(json!({"bar": "zop"})).is_err());
        assert_eq!(
            check(json!({"bar": "zip", "other": 1})),
            Err(DenyReason::ParameterNotAllowed("other".into()))
        );

        let with_star = Permissions {
            allowed_parameters: params(&[("*", vec![]), ("bar", vec![json!("zip")])]),
            ..Permissions::default()
        };
        let check = |d: Value| check_parameters(&with_star, &data(d));
        assert_eq!(check(json!({"other": 1, "bar": "zip"})), Ok(()));
        assert!(check(json!({"bar": "zap"})).is_err());
    }

    #[test]
    fn denied_parameters() {
        let perms = Permissions {
            denied_parameters: params(&[("ttl", vec![]), ("role", vec![json!("admin*")])]),
            ..Permissions::default()
        };
        let check = |d: Value| check_parameters(&perms, &data(d));
        assert_eq!(
            check(json!({"ttl": "1h"})),
            Err(DenyReason::DeniedParameter("ttl".into()))
        );
        assert!(check(json!({"role": "administrator"})).is_err());
        assert_eq!(check(json!({"role": "dev", "x": 1})), Ok(()));

        let all = Permissions {
            denied_parameters: params(&[("*", vec![])]),
            ..Permissions::default()
        };
        assert!(check_parameters(&all, &data(json!({"x": 1}))).is_err());
        assert_eq!(check_parameters(&all, &Map::new()), Ok(()));
    }

    #[test]
    fn non_string_values() {
        let perms = Permissions {
            allowed_parameters: params(&[("n", vec![json!(1), json!(true)])]),
            ..Permissions::default()
        };
        let check = |d: Value| check_parameters(&perms, &data(d));
        assert_eq!(check(json!({"n": 1.0})), Ok(()));
        assert_eq!(check(json!({"n": true})), Ok(()));
        assert!(check(json!({"n": 2})).is_err());
        assert!(check(json!({"n": "1"})).is_err());
    }

    #[test]
    fn wrapping_ttl_bounds() {
        let secs = Duration::from_secs;
        let perms = Permissions {
            min_wrapping_ttl: Some(secs(60)),
            max_wrapping_ttl: Some(secs(600)),
            ..Permissions::default()
        };
        assert_eq!(check_wrapping(&perms, Some(secs(300))), Ok(()));
        assert!(check_wrapping(&perms, None).is_err());
        assert!(check_wrapping(&perms, Some(secs(30))).is_err());
        assert!(check_wrapping(&perms, Some(secs(601))).is_err());
        assert_eq!(check_wrapping(&Permissions::default(), None), Ok(()));
    }
}

#[cfg(test)]
mod fuzz {
    use super::globbed_match;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 10000, ..ProptestConfig::default() })]

        #[test]
        fn fuzz_policy_param_glob(pattern in "[a€*é]{0,6}", value in "[a€*é]{0,6}", any in any::<String>()) {
            let _ = globbed_match(&pattern, &value);
            let _ = globbed_match(&any, &value);
            let _ = globbed_match(&pattern, &any);
            // Without a leading or trailing `*`, a pattern matches only itself.
            if !pattern.starts_with('*') && !pattern.ends_with('*') {
                prop_assert_eq!(globbed_match(&pattern, &value), pattern == value);
            }
            // A pattern with a star at both ends matches every value containing its middle.
            let wrapped = format!("*{value}*");
            let around = format!("x{value}y");
            prop_assert!(globbed_match(&wrapped, &around));
        }
    }
}
