//! One token's stored record and how it is shown by `lookup`.

use crate::clock;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;

/// A token as stored under `sys/token/id/<sha256(token)>` (inside the barrier).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct TokenEntry {
    /// The token itself (`hvs.` + 24 base62 characters).
    pub id: String,
    pub accessor: String,
    pub policies: Vec<String>,
    /// Storage key (hash) of the parent token; empty for orphans.
    pub parent: String,
    pub meta: BTreeMap<String, String>,
    pub display_name: String,
    /// Uses left; 0 means unlimited.
    pub num_uses: u64,
    /// Unix milliseconds at creation.
    pub creation_ms: i64,
    /// The TTL granted at creation, seconds (0: never expires).
    pub creation_ttl: u64,
    /// Unix milliseconds of expiry; 0 means never.
    pub expire_at_ms: i64,
    pub explicit_max_ttl: u64,
    pub period: u64,
    pub renewable: bool,
    pub path: String,
    pub role: String,
    pub orphan: bool,
    /// CIDR blocks the token may be used from (auth methods' `token_bound_cidrs`); empty: anywhere.
    #[serde(default)]
    pub bound_cidrs: Vec<String>,
    /// Seconds after creation beyond which renewals cannot go (a login's `token_max_ttl` within
    /// the mount's limit); 0: only the system's maximum applies.
    #[serde(default)]
    pub max_ttl: u64,
    /// The identity entity the token acts for (a login's, or its parent's); empty: none.
    #[serde(default)]
    pub entity_id: String,
}

impl TokenEntry {
    /// Whether the token has expired at `now_ms` (unix milliseconds).
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expire_at_ms != 0 && now_ms >= self.expire_at_ms
    }

    /// Whole seconds left before expiry, rounded up (0 if it never expires).
    pub fn ttl_left(&self, now_ms: i64) -> u64 {
        if self.expire_at_ms == 0 {
            0
        } else {
            ((self.expire_at_ms - now_ms).max(0) as u64).div_ceil(1000)
        }
    }

    /// Whether the token carries the root policy.
    pub fn is_root(&self) -> bool {
        self.policies.iter().any(|p| p == "root")
    }

    /// Whether a request from `remote` (the client's `ip:port`) may use this token.
    pub fn allows_remote(&self, remote: Option<&str>) -> bool {
        crate::cidr::allows(&self.bound_cidrs, remote)
    }

    /// The `data` of `auth/token/lookup*` (with `id` blanked for lookup-accessor).
    pub fn lookup_data(&self, now_ms: i64, show_id: bool) -> Value {
        let mut data = self.lookup_fields(now_ms, show_id);
        if !self.bound_cidrs.is_empty() {
            data["bound_cidrs"] = json!(self.bound_cidrs);
        }
        data
    }

    fn lookup_fields(&self, now_ms: i64, show_id: bool) -> Value {
        let fmt = |ms: i64| {
            clock::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms as u64))
        };
        json!({
            "accessor": self.accessor,
            "creation_time": self.creation_ms / 1000,
            "creation_ttl": self.creation_ttl,
            "display_name": self.display_name,
            "entity_id": self.entity_id,
            "expire_time": if self.expire_at_ms == 0 { Value::Null } else { json!(fmt(self.expire_at_ms)) },
            "explicit_max_ttl": self.explicit_max_ttl,
            "id": if show_id { self.id.clone() } else { String::new() },
            "issue_time": fmt(self.creation_ms),
            "meta": if self.meta.is_empty() { Value::Null } else { json!(self.meta) },
            "num_uses": self.num_uses,
            "orphan": self.orphan,
            "path": self.path,
            "period": if self.period == 0 { Value::Null } else { json!(self.period) },
            "policies": self.policies,
            "renewable": self.renewable,
            "role": if self.role.is_empty() { Value::Null } else { json!(self.role) },
            "ttl": self.ttl_left(now_ms),
            "type": "service",
        })
    }

    /// The `auth` block returned when this token is created or renewed.
    pub fn auth_info(&self, now_ms: i64) -> crate::request::AuthInfo {
        let token_policies = self.policies.clone();
        crate::request::AuthInfo {
            client_token: self.id.clone(),
            accessor: self.accessor.clone(),
            policies: token_policies.clone(),
            token_policies,
            identity_policies: None,
            metadata: if self.meta.is_empty() {
                None
            } else {
                Some(self.meta.clone())
            },
            lease_duration: self.ttl_left(now_ms),
            renewable: self.renewable,
            entity_id: self.entity_id.clone(),
            token_type: "service".into(),
            orphan: self.orphan,
            mfa_requirement: None,
            num_uses: self.num_uses,
        }
    }
}
