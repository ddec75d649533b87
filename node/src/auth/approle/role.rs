//! An AppRole role: its role ID, the secret ID constraints and the token fields of its logins.

use crate::auth::token_params::TokenParams;
use crate::cidr;
use crate::error::ApiError;
use crate::fields::{boolean, secs, string_list, unsigned};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// A stored role (`role/<name>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Role {
    pub name: String,
    pub role_id: String,
    pub bind_secret_id: bool,
    pub secret_id_bound_cidrs: Vec<String>,
    /// Logins each secret ID allows; 0: unlimited.
    pub secret_id_num_uses: u64,
    /// Seconds a secret ID lives; 0: forever.
    pub secret_id_ttl: u64,
    pub local_secret_ids: bool,
    /// Hex key of the HMAC that names this role's secret IDs in storage.
    pub hmac_key: String,
    #[serde(flatten)]
    pub token: TokenParams,
}

impl Role {
    /// A new role with Vault's defaults (`bind_secret_id = true`) and fresh IDs.
    pub fn new(name: &str) -> Role {
        Role {
            name: name.to_string(),
            role_id: crate::ids::uuid(),
            bind_secret_id: true,
            hmac_key: hex::encode(crate::ids::random_bytes(32)),
            token: TokenParams {
                token_type: "default".into(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    /// Apply a write body; every field is checked before any is set.
    pub fn apply(&mut self, data: &Map<String, Value>, creating: bool) -> Result<(), ApiError> {
        let mut next = self.clone();
        for (k, v) in data.iter().filter(|(_, v)| !v.is_null()) {
            match k.as_str() {
                "bind_secret_id" => next.bind_secret_id = boolean(v, k)?,
                "secret_id_bound_cidrs" | "bound_cidr_list" => {
                    next.secret_id_bound_cidrs = cidr::parse_list(k, string_list(v, k)?)?
                }
                "secret_id_num_uses" => next.secret_id_num_uses = unsigned(v, k)?,
                "secret_id_ttl" => next.secret_id_ttl = secs(v, k)?,
                "local_secret_ids" | "enable_local_secret_ids" if creating => {
                    next.local_secret_ids = boolean(v, k)?
                }
                "role_id" => {
                    let id = v.as_str().unwrap_or_default().trim().to_string();
                    if id.is_empty() {
                        return Err(ApiError::bad("role_id cannot be empty"));
                    }
                    next.role_id = id;
                }
                _ => {}
            }
        }
        next.token.apply(data)?;
        if !next.bind_secret_id
            && next.secret_id_bound_cidrs.is_empty()
            && next.token.token_bound_cidrs.is_empty()
        {
            return Err(ApiError::bad(
                "at least one constraint should be enabled on the role",
            ));
        }
        *self = next;
        Ok(())
    }

    /// The `data` of a role read (no role ID, no key).
    pub fn read_json(&self) -> Map<String, Value> {
        let mut out = Map::new();
        out.insert("bind_secret_id".into(), self.bind_secret_id.into());
        out.insert("local_secret_ids".into(), self.local_secret_ids.into());
        out.insert(
            "secret_id_bound_cidrs".into(),
            self.secret_id_bound_cidrs.clone().into(),
        );
        out.insert("secret_id_num_uses".into(), self.secret_id_num_uses.into());
        out.insert("secret_id_ttl".into(), self.secret_id_ttl.into());
        out.insert("period".into(), self.token.token_period.into());
        self.token.write_json(&mut out);
        out
    }
}

/// The single-field endpoints under `role/<name>/` and the fields each one reads and writes.
pub fn field_endpoint(segment: &str) -> Option<&'static [&'static str]> {
    Some(match segment {
        "policies" => &["policies", "token_policies"],
        "bind-secret-id" => &["bind_secret_id"],
        "secret-id-bound-cidrs" => &["secret_id_bound_cidrs"],
        "bound-cidr-list" => &["secret_id_bound_cidrs"],
        "secret-id-num-uses" => &["secret_id_num_uses"],
        "secret-id-ttl" => &["secret_id_ttl"],
        "token-num-uses" => &["token_num_uses"],
        "token-ttl" => &["token_ttl"],
        "token-max-ttl" => &["token_max_ttl"],
        "token-bound-cidrs" => &["token_bound_cidrs"],
        "period" => &["period", "token_period"],
        "local-secret-ids" => &["local_secret_ids"],
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn new_roles_bind_secret_ids_and_have_distinct_ids() {
        let (a, b) = (Role::new("a"), Role::new("b"));
        assert!(a.bind_secret_id);
        assert_ne!(a.role_id, b.role_id);
        assert_ne!(a.hmac_key, b.hmac_key);
    }

    #[test]
    fn writes_apply_fields_and_refuse_an_unconstrained_role() {
        let mut r = Role::new("web");
        let body = json!({"secret_id_num_uses": 2, "secret_id_ttl": "10m",
                          "token_policies": "app", "token_ttl": "1h"});
        r.apply(body.as_object().unwrap(), true).unwrap();
        assert_eq!((r.secret_id_num_uses, r.secret_id_ttl), (2, 600));
        assert_eq!(r.token.token_policies, vec!["app"]);
        let before = r.clone();
        let off = json!({"bind_secret_id": false});
        assert!(r.apply(off.as_object().unwrap(), false).is_err());
        assert_eq!(r, before);
        let bound = json!({"bind_secret_id": false, "secret_id_bound_cidrs": ["127.0.0.1/32"]});
        r.apply(bound.as_object().unwrap(), false).unwrap();
        assert!(!r.bind_secret_id);
        let shown = r.read_json();
        assert!(!shown.contains_key("role_id") && !shown.contains_key("hmac_key"));
        assert_eq!(shown["token_ttl"], 3600);
    }
}
