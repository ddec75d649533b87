//! A jwt auth role (`role/<name>`): what a token must claim to log in with it (audiences,
//! subject, `bound_claims`), which claims name the user and their groups, the leeways of the
//! time checks, and the token fields of its logins. Written and read in Vault 1.16's shapes.

use crate::auth::token_params::TokenParams;
use crate::error::ApiError;
use crate::fields::{boolean, string_list, Fields};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

/// A stored role.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(default)]
pub struct JwtRole {
    /// `jwt` or `oidc` (Vault's default; its browser flow is not served here).
    pub role_type: String,
    pub bound_audiences: Vec<String>,
    pub bound_subject: String,
    /// `string` or `glob`.
    pub bound_claims_type: String,
    pub bound_claims: Map<String, Value>,
    /// Claim (name or JSON pointer) → alias metadata key.
    pub claim_mappings: BTreeMap<String, String>,
    pub user_claim: String,
    pub user_claim_json_pointer: bool,
    pub groups_claim: String,
    pub oidc_scopes: Vec<String>,
    pub allowed_redirect_uris: Vec<String>,
    pub verbose_oidc_logging: bool,
    pub max_age: u64,
    /// Seconds; 0 means the default, negative disables.
    pub clock_skew_leeway: i64,
    pub expiration_leeway: i64,
    pub not_before_leeway: i64,
    #[serde(flatten)]
    pub token: TokenParams,
}

/// Metadata keys a claim may not be mapped to.
const RESERVED_METADATA: &[&str] = &["role"];

fn signed_secs(v: &Value, key: &str) -> Result<i64, ApiError> {
    let bad = |e: String| ApiError::bad(format!("error converting input {key}: {e}"));
    match v {
        Value::Number(n) => n
            .as_i64()
            .ok_or_else(|| bad("expected whole seconds".into())),
        Value::String(s) => crate::duration::parse_signed_secs(s).map_err(bad),
        _ => Err(bad("expected a duration".into())),
    }
}

/// `claim_mappings` as Vault's key-value pairs: an object of strings, or `key=value` strings.
fn kv_pairs(v: &Value) -> Result<BTreeMap<String, String>, ApiError> {
    let bad = || ApiError::bad("claim_mappings: expected a map of strings");
    match v {
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                Value::Bool(b) => Ok((k.clone(), b.to_string())),
                _ => Err(bad()),
            })
            .collect(),
        Value::Array(_) | Value::String(_) => string_list(v, "claim_mappings")?
            .into_iter()
            .map(|pair| {
                pair.split_once('=')
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .ok_or_else(bad)
            })
            .collect(),
        _ => Err(bad()),
    }
}

/// `bound_claims` as a map (a JSON object, or its text).
fn claims_map(v: &Value) -> Result<Map<String, Value>, ApiError> {
    match v {
        Value::Object(m) => Ok(m.clone()),
        Value::String(s) if s.trim().is_empty() => Ok(Map::new()),
        Value::String(s) => match serde_json::from_str(s) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(ApiError::bad("bound_claims: expected a map")),
        },
        _ => Err(ApiError::bad("bound_claims: expected a map")),
    }
}

impl JwtRole {
    /// Apply a write on top of the stored role (or a new one); everything is checked before the
    /// role changes, with Vault's messages.
    pub fn apply(&mut self, data: &Map<String, Value>) -> Result<(), ApiError> {
        let f = Fields(data);
        let mut next = self.clone();
        let given = |k: &str| data.get(k).filter(|v| !v.is_null());
        // Unlike Vault, an update that names no `role_type` or `bound_claims_type` keeps the
        // stored one instead of resetting it to the default.
        let role_type = f.str_opt("role_type")?.unwrap_or_default();
        next.role_type = match role_type.as_str() {
            "" if !self.role_type.is_empty() => self.role_type.clone(),
            "" => "oidc".into(),
            "jwt" | "oidc" => role_type,
            other => return Err(ApiError::bad(format!("invalid 'role_type': {other}"))),
        };
        next.token.apply(data)?;
        if let Some(v) = given("expiration_leeway") {
            next.expiration_leeway = signed_secs(v, "expiration_leeway")?;
        }
        if let Some(v) = given("not_before_leeway") {
            next.not_before_leeway = signed_secs(v, "not_before_leeway")?;
        }
        if let Some(v) = given("clock_skew_leeway") {
            next.clock_skew_leeway = signed_secs(v, "clock_skew_leeway")?;
        }
        if let Some(v) = given("bound_audiences") {
            next.bound_audiences = string_list(v, "bound_audiences")?;
        }
        if let Some(s) = f.str_opt("bound_subject")? {
            next.bound_subject = s;
        }
        if let Some(v) = given("verbose_oidc_logging") {
            next.verbose_oidc_logging = boolean(v, "verbose_oidc_logging")?;
        }
        if let Some(s) = f.secs_opt("max_age")? {
            next.max_age = s;
        }
        let claims_type = f.str_opt("bound_claims_type")?.unwrap_or_default();
        next.bound_claims_type = match claims_type.as_str() {
            "" if !self.bound_claims_type.is_empty() => self.bound_claims_type.clone(),
            "" | "string" => "string".into(),
            "glob" => "glob".into(),
            other => {
                return Err(ApiError::bad(format!(
                    "invalid 'bound_claims_type': {other}"
                )))
            }
        };
        if let Some(v) = given("bound_claims") {
            next.bound_claims = claims_map(v)?;
            if next.bound_claims_type == "glob" {
                for values in next.bound_claims.values() {
                    let list = match values {
                        Value::Array(items) => items.iter().collect(),
                        Value::String(_) | Value::Bool(_) => vec![values],
                        _ => {
                            return Err(ApiError::bad(format!(
                                "claim is not a string or list: {values}"
                            )))
                        }
                    };
                    if let Some(v) = list.iter().find(|v| !v.is_string()) {
                        return Err(ApiError::bad(format!("claim is not a string: {v}")));
                    }
                }
            }
        }
        if let Some(v) = given("claim_mappings") {
            let mappings = kv_pairs(v)?;
            let mut targets = std::collections::BTreeSet::new();
            for key in mappings.values() {
                if RESERVED_METADATA.contains(&key.as_str()) {
                    return Err(ApiError::bad(format!(
                        "metadata key {key:?} is reserved and may not be a mapping destination"
                    )));
                }
                if !targets.insert(key.clone()) {
                    return Err(ApiError::bad(format!(
                        "multiple keys are mapped to metadata key {key:?}"
                    )));
                }
            }
            next.claim_mappings = mappings;
        }
        if let Some(s) = f.str_opt("user_claim")? {
            next.user_claim = s;
        }
        if next.user_claim.is_empty() {
            return Err(ApiError::bad("a user claim must be defined on the role"));
        }
        if let Some(v) = given("user_claim_json_pointer") {
            next.user_claim_json_pointer = boolean(v, "user_claim_json_pointer")?;
        }
        if let Some(s) = f.str_opt("groups_claim")? {
            next.groups_claim = s;
        }
        if let Some(v) = given("oidc_scopes") {
            next.oidc_scopes = string_list(v, "oidc_scopes")?;
        }
        if let Some(v) = given("allowed_redirect_uris") {
            next.allowed_redirect_uris = string_list(v, "allowed_redirect_uris")?;
        }
        if next.role_type == "oidc" && next.allowed_redirect_uris.is_empty() {
            return Err(ApiError::bad(
                "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified.",
            ));
        }
        if next.role_type != "oidc"
            && next.bound_audiences.is_empty()
            && next.token.token_bound_cidrs.is_empty()
            && next.bound_subject.is_empty()
            && next.bound_claims.is_empty()
        {
            return Err(ApiError::bad(
                "must have at least one bound constraint when creating/updating a role",
            ));
        }
        *self = next;
        Ok(())
    }

    /// Whether `bound_claims` values are `*` globs.
    pub fn globs(&self) -> bool {
        self.bound_claims_type == "glob"
    }

    /// The `data` of a role read.
    pub fn read_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        let mut put = |k: &str, v: Value| {
            out.insert(k.to_string(), v);
        };
        put("role_type", self.role_type.clone().into());
        put("expiration_leeway", self.expiration_leeway.into());
        put("not_before_leeway", self.not_before_leeway.into());
        put("clock_skew_leeway", self.clock_skew_leeway.into());
        put("bound_audiences", self.bound_audiences.clone().into());
        put("bound_subject", self.bound_subject.clone().into());
        put("bound_claims_type", self.bound_claims_type.clone().into());
        put(
            "bound_claims",
            if self.bound_claims.is_empty() {
                Value::Null
            } else {
                Value::Object(self.bound_claims.clone())
            },
        );
        put(
            "claim_mappings",
            if self.claim_mappings.is_empty() {
                Value::Null
            } else {
                serde_json::to_value(&self.claim_mappings).unwrap_or(Value::Null)
            },
        );
        put("user_claim", self.user_claim.clone().into());
        put(
            "user_claim_json_pointer",
            self.user_claim_json_pointer.into(),
        );
        put("groups_claim", self.groups_claim.clone().into());
        put(
            "allowed_redirect_uris",
            self.allowed_redirect_uris.clone().into(),
        );
        put("oidc_scopes", self.oidc_scopes.clone().into());
        put("verbose_oidc_logging", self.verbose_oidc_logging.into());
        put("max_age", self.max_age.into());
        self.token.write_json(&mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn role(v: Value) -> Result<JwtRole, ApiError> {
        let mut r = JwtRole::default();
        r.apply(v.as_object().unwrap()).map(|_| r)
    }

    #[test]
    fn a_jwt_role_needs_a_user_claim_and_a_bound_constraint() {
        let err = |v: Value| role(v).unwrap_err().to_string();
        assert_eq!(
            err(json!({"role_type": "jwt", "bound_audiences": "a"})),
            "a user claim must be defined on the role"
        );
        assert_eq!(
            err(json!({"role_type": "jwt", "user_claim": "sub"})),
            "must have at least one bound constraint when creating/updating a role"
        );
        assert_eq!(
            err(json!({"user_claim": "sub", "bound_audiences": "a"})),
            "'allowed_redirect_uris' must be set if 'role_type' is 'oidc' or unspecified."
        );
        assert_eq!(
            err(json!({"role_type": "saml", "user_claim": "sub"})),
            "invalid 'role_type': saml"
        );
        let r = role(
            json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x",
                            "token_policies": "dev", "clock_skew_leeway": "-1",
                            "expiration_leeway": 30, "allowed_redirect_uris": null}),
        )
        .unwrap();
        assert_eq!(r.clock_skew_leeway, -1);
        assert_eq!(r.expiration_leeway, 30);
        assert_eq!(r.not_before_leeway, 0);
        assert_eq!(r.bound_claims_type, "string");
        let shown = r.read_json();
        assert_eq!(shown["token_policies"], json!(["dev"]));
        assert_eq!(shown["bound_claims"], Value::Null);
        assert_eq!(shown["role_type"], "jwt");
    }

    #[test]
    fn claim_mappings_and_glob_bound_claims_are_checked() {
        let base = json!({"role_type": "jwt", "user_claim": "sub", "bound_subject": "x"});
        let with = |extra: Value| {
            let mut v = base.clone();
            v.as_object_mut()
                .unwrap()
                .extend(extra.as_object().unwrap().clone());
            role(v)
        };
        assert_eq!(
            with(json!({"claim_mappings": {"a": "role"}}))
                .unwrap_err()
                .to_string(),
            "metadata key \"role\" is reserved and may not be a mapping destination"
        );
        assert_eq!(
            with(json!({"claim_mappings": {"a": "k", "b": "k"}}))
                .unwrap_err()
                .to_string(),
            "multiple keys are mapped to metadata key \"k\""
        );
        let r = with(json!({"claim_mappings": ["email=mail"]})).unwrap();
        assert_eq!(r.claim_mappings["email"], "mail");
        assert!(with(json!({"bound_claims_type": "regex"})).is_err());
        assert!(with(json!({"bound_claims_type": "glob", "bound_claims": {"g": [1]}})).is_err());
        let r = with(json!({"bound_claims_type": "glob",
                            "bound_claims": "{\"/ns\": [\"team-*\"]}"}))
        .unwrap();
        assert!(r.globs());
        assert_eq!(r.bound_claims["/ns"], json!(["team-*"]));
    }
}
