//! The `token_*` fields every auth method's user or role carries (Vault's `tokenutil`):
//! policies, TTLs, period, use limit, bound CIDRs and token type of the tokens its logins get.

use super::cidr;
use crate::error::ApiError;
use crate::fields::{boolean, secs, string_list, unsigned};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// What a login's token is made from. TTLs in seconds; 0 means "the mount's or system default".
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TokenParams {
    pub token_policies: Vec<String>,
    pub token_ttl: u64,
    pub token_max_ttl: u64,
    pub token_explicit_max_ttl: u64,
    pub token_period: u64,
    pub token_num_uses: u64,
    pub token_no_default_policy: bool,
    pub token_bound_cidrs: Vec<String>,
    /// `default` or `service` (batch tokens are not issued by this server).
    pub token_type: String,
}

/// Vault's refusal of a login whose token would carry `root`; also given here when a user or role
/// is written with it, since such a record could only ever fail at login.
pub const NO_ROOT: &str = "auth methods cannot create root tokens";

/// Vault's policy list normalisation: trimmed, lower-case, sorted, no duplicates or blanks.
pub fn normalize_policies(policies: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = policies
        .into_iter()
        .map(|p| p.trim().to_lowercase())
        .filter(|p| !p.is_empty())
        .collect();
    out.sort();
    out.dedup();
    out
}

fn token_type(v: &Value) -> Result<String, ApiError> {
    let t = v.as_str().unwrap_or_default();
    match t {
        "" | "default" | "default-service" => Ok("default".into()),
        "service" => Ok("service".into()),
        "batch" | "default-batch" => Err(ApiError::bad(
            "batch tokens are not supported by this server; use token_type \"service\"",
        )),
        other => Err(ApiError::bad(format!(
            "invalid 'token_type' value {other:?}"
        ))),
    }
}

/// The value of `name`, else of its deprecated `alias`, with the name it came under.
fn pick<'a>(
    data: &'a Map<String, Value>,
    name: &'static str,
    alias: &'static str,
) -> Option<(&'static str, &'a Value)> {
    data.get(name)
        .map(|v| (name, v))
        .or_else(|| data.get(alias).map(|v| (alias, v)))
        .filter(|(_, v)| !v.is_null())
}

impl TokenParams {
    /// Apply the token fields of a write body on top of `self`. The deprecated names Vault still
    /// accepts (`policies`, `ttl`, `max_ttl`, `period`, `num_uses`, `bound_cidrs`) count when the
    /// `token_` name is absent. Every field is checked before any is set.
    pub fn apply(&mut self, data: &Map<String, Value>) -> Result<(), ApiError> {
        let mut next = self.clone();
        if let Some((k, v)) = pick(data, "token_policies", "policies") {
            next.token_policies = normalize_policies(string_list(v, k)?);
            if next.token_policies.iter().any(|p| p == "root") {
                return Err(ApiError::bad(NO_ROOT));
            }
        }
        if let Some((k, v)) = pick(data, "token_ttl", "ttl") {
            next.token_ttl = secs(v, k)?;
        }
        if let Some((k, v)) = pick(data, "token_max_ttl", "max_ttl") {
            next.token_max_ttl = secs(v, k)?;
        }
        if let Some((k, v)) = pick(data, "token_period", "period") {
            next.token_period = secs(v, k)?;
        }
        if let Some((k, v)) = pick(data, "token_num_uses", "num_uses") {
            next.token_num_uses = unsigned(v, k)?;
        }
        if let Some((k, v)) = pick(data, "token_bound_cidrs", "bound_cidrs") {
            next.token_bound_cidrs = cidr::parse_list(k, string_list(v, k)?)?;
        }
        if let Some(v) = data.get("token_explicit_max_ttl") {
            next.token_explicit_max_ttl = secs(v, "token_explicit_max_ttl")?;
        }
        if let Some(v) = data.get("token_no_default_policy") {
            next.token_no_default_policy = boolean(v, "token_no_default_policy")?;
        }
        if let Some(v) = data.get("token_type") {
            next.token_type = token_type(v)?;
        }
        if next.token_type.is_empty() {
            next.token_type = "default".into();
        }
        if next.token_max_ttl > 0 && next.token_ttl > next.token_max_ttl {
            return Err(ApiError::bad(
                "\"token_ttl\" cannot be greater than \"token_max_ttl\"",
            ));
        }
        *self = next;
        Ok(())
    }

    /// The token fields of a read, as Vault shows them.
    pub fn write_json(&self, out: &mut Map<String, Value>) {
        let fields = json!({
            "token_policies": self.token_policies,
            "policies": self.token_policies,
            "token_ttl": self.token_ttl,
            "token_max_ttl": self.token_max_ttl,
            "token_explicit_max_ttl": self.token_explicit_max_ttl,
            "token_period": self.token_period,
            "token_num_uses": self.token_num_uses,
            "token_no_default_policy": self.token_no_default_policy,
            "token_bound_cidrs": self.token_bound_cidrs,
            "token_type": if self.token_type.is_empty() { "default" } else { &self.token_type },
        });
        if let Value::Object(m) = fields {
            out.extend(m);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn apply(p: &mut TokenParams, v: Value) -> Result<(), ApiError> {
        p.apply(v.as_object().unwrap())
    }

    #[test]
    fn token_fields_and_deprecated_aliases_parse() {
        let mut p = TokenParams::default();
        apply(
            &mut p,
            json!({"policies": "B, a,a", "ttl": "1h", "token_max_ttl": 7200, "token_num_uses": "3",
                   "bound_cidrs": "127.0.0.1/32", "token_no_default_policy": "true"}),
        )
        .unwrap();
        assert_eq!(p.token_policies, vec!["a", "b"]);
        assert_eq!(
            (p.token_ttl, p.token_max_ttl, p.token_num_uses),
            (3600, 7200, 3)
        );
        assert_eq!(p.token_bound_cidrs, vec!["127.0.0.1/32"]);
        assert!(p.token_no_default_policy);
        assert_eq!(p.token_type, "default");
        // The token_ name wins over the alias.
        apply(&mut p, json!({"token_policies": ["x"], "policies": ["y"]})).unwrap();
        assert_eq!(p.token_policies, vec!["x"]);
    }

    #[test]
    fn bad_values_change_nothing() {
        let mut p = TokenParams::default();
        apply(&mut p, json!({"token_ttl": "10m"})).unwrap();
        let before = p.clone();
        assert!(apply(&mut p, json!({"token_ttl": "2h", "token_max_ttl": "1h"})).is_err());
        assert!(apply(&mut p, json!({"token_ttl": "soon"})).is_err());
        assert!(apply(&mut p, json!({"token_type": "batch"})).is_err());
        assert!(apply(&mut p, json!({"token_type": "weird"})).is_err());
        assert!(apply(&mut p, json!({"token_bound_cidrs": ["300.0.0.1/8"]})).is_err());
        assert!(apply(&mut p, json!({"token_policies": ["dev", " ROOT"]})).is_err());
        assert!(apply(&mut p, json!({"policies": "root"})).is_err());
        assert_eq!(p, before);
    }

    #[test]
    fn reads_show_every_token_field() {
        let mut out = Map::new();
        TokenParams::default().write_json(&mut out);
        for k in [
            "token_policies",
            "token_ttl",
            "token_max_ttl",
            "token_type",
            "token_bound_cidrs",
        ] {
            assert!(out.contains_key(k), "{k} missing");
        }
        assert_eq!(out["token_type"], "default");
    }
}
