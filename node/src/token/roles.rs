//! Token roles (`auth/token/roles/<name>`): presets and limits for tokens created through
//! `auth/token/create/<role>`.

use crate::error::ApiError;
use crate::fields::{boolean, secs, string_list, unsigned};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// A stored token role.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct TokenRole {
    pub name: String,
    pub allowed_policies: Vec<String>,
    pub disallowed_policies: Vec<String>,
    pub orphan: bool,
    pub renewable: bool,
    pub path_suffix: String,
    pub token_explicit_max_ttl: u64,
    pub token_period: u64,
    pub token_ttl: u64,
    pub token_max_ttl: u64,
    pub token_num_uses: u64,
    pub token_no_default_policy: bool,
}

impl TokenRole {
    /// Apply a write body on top of the existing role; every field is validated before any is set.
    pub fn apply(&mut self, data: &Map<String, Value>) -> Result<(), ApiError> {
        let mut next = self.clone();
        for (k, v) in data {
            match k.as_str() {
                "allowed_policies" => next.allowed_policies = string_list(v, k)?,
                "disallowed_policies" => next.disallowed_policies = string_list(v, k)?,
                "orphan" => next.orphan = boolean(v, k)?,
                "renewable" => next.renewable = boolean(v, k)?,
                "path_suffix" => next.path_suffix = v.as_str().unwrap_or_default().to_string(),
                "token_explicit_max_ttl" | "explicit_max_ttl" => {
                    next.token_explicit_max_ttl = secs(v, k)?
                }
                "token_period" | "period" => next.token_period = secs(v, k)?,
                "token_ttl" => next.token_ttl = secs(v, k)?,
                "token_max_ttl" => next.token_max_ttl = secs(v, k)?,
                "token_num_uses" => next.token_num_uses = unsigned(v, k)?,
                "token_no_default_policy" => next.token_no_default_policy = boolean(v, k)?,
                _ => {}
            }
        }
        *self = next;
        Ok(())
    }

    /// The `data` of a role read.
    pub fn to_json(&self) -> Value {
        json!({
            "name": self.name,
            "allowed_policies": self.allowed_policies,
            "disallowed_policies": self.disallowed_policies,
            "orphan": self.orphan,
            "renewable": self.renewable,
            "path_suffix": self.path_suffix,
            "token_explicit_max_ttl": self.token_explicit_max_ttl,
            "explicit_max_ttl": self.token_explicit_max_ttl,
            "token_period": self.token_period,
            "period": self.token_period,
            "token_ttl": self.token_ttl,
            "token_max_ttl": self.token_max_ttl,
            "token_num_uses": self.token_num_uses,
            "token_no_default_policy": self.token_no_default_policy,
            "token_type": "service",
        })
    }
}
