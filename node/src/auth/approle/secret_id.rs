//! Secret ID bookkeeping, as plain functions over plain data: how a new secret ID's limits come
//! from its role, when it expires, what one login spends, how it is shown by `lookup`, and the
//! HMAC it is stored under (so not even a decrypted storage dump holds a usable secret ID).

use crate::error::ApiError;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use sha2::Sha256;
use std::collections::BTreeMap;

/// One issued secret ID, stored under the HMAC of its value.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct SecretIdEntry {
    pub accessor: String,
    /// Logins left; 0 means unlimited.
    pub num_uses: u64,
    /// The TTL it was issued with, seconds; 0 means it never expires.
    pub ttl: u64,
    pub creation_ms: i64,
    /// Unix milliseconds of expiry; 0 means never.
    pub expiration_ms: i64,
    pub last_updated_ms: i64,
    pub metadata: BTreeMap<String, String>,
    pub cidr_list: Vec<String>,
    pub token_bound_cidrs: Vec<String>,
}

/// What one login does to a secret ID.
#[derive(Debug, Clone, PartialEq)]
pub enum Spend {
    /// Store this (unchanged when uses are unlimited, one use fewer otherwise).
    Keep(SecretIdEntry),
    /// That was its last use: delete it.
    Remove,
}

/// Limits of a new secret ID: the request's `num_uses`/`ttl` when given, within the role's.
pub fn resolve_limits(
    role_num_uses: u64,
    role_ttl: u64,
    num_uses: Option<u64>,
    ttl: Option<u64>,
) -> Result<(u64, u64), ApiError> {
    let num_uses = match num_uses {
        None | Some(0) => role_num_uses,
        Some(n) if role_num_uses > 0 && n > role_num_uses => {
            return Err(ApiError::bad(
                "num_uses cannot be higher than the role's secret_id_num_uses",
            ))
        }
        Some(n) => n,
    };
    let ttl = match ttl {
        None | Some(0) => role_ttl,
        Some(t) if role_ttl > 0 && t > role_ttl => {
            return Err(ApiError::bad(
                "ttl cannot be longer than the role's secret_id_ttl",
            ))
        }
        Some(t) => t,
    };
    Ok((num_uses, ttl))
}

/// A secret ID's `metadata`: a JSON object of strings, or (as hvac and the CLI send it) a
/// string holding one.
pub fn parse_metadata(v: Option<&Value>) -> Result<BTreeMap<String, String>, ApiError> {
    let bad = |e: String| ApiError::bad(format!("failed to parse metadata: {e}"));
    let object = match v {
        None | Some(Value::Null) => return Ok(BTreeMap::new()),
        Some(Value::String(s)) if s.trim().is_empty() => return Ok(BTreeMap::new()),
        Some(Value::String(s)) => {
            serde_json::from_str::<Value>(s).map_err(|e| bad(e.to_string()))?
        }
        Some(other) => other.clone(),
    };
    let Value::Object(map) = object else {
        return Err(bad("expected a JSON object".into()));
    };
    map.into_iter()
        .map(|(k, v)| match v {
            Value::String(s) => Ok((k, s)),
            _ => Err(bad(format!("value of {k:?} is not a string"))),
        })
        .collect()
}

/// Hex HMAC-SHA256 of `value` under a role's key.
pub fn hmac_hex(key: &[u8], value: &str) -> String {
    let mut mac =
        <Hmac<Sha256> as Mac>::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(value.as_bytes());
    hex::encode(mac.finalize().into_bytes())
}

fn rfc3339_ms(ms: i64) -> String {
    crate::clock::rfc3339(
        std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64),
    )
}

impl SecretIdEntry {
    /// A new entry, issued at `now_ms`.
    pub fn new(accessor: String, num_uses: u64, ttl: u64, now_ms: i64) -> Self {
        SecretIdEntry {
            accessor,
            num_uses,
            ttl,
            creation_ms: now_ms,
            expiration_ms: if ttl == 0 {
                0
            } else {
                now_ms + 1000 * ttl as i64
            },
            last_updated_ms: now_ms,
            ..Default::default()
        }
    }

    /// Whether it has expired at `now_ms`.
    pub fn expired(&self, now_ms: i64) -> bool {
        self.expiration_ms != 0 && now_ms >= self.expiration_ms
    }

    /// The effect of one login at `now_ms`.
    pub fn spend(&self, now_ms: i64) -> Spend {
        match self.num_uses {
            0 => Spend::Keep(self.clone()),
            1 => Spend::Remove,
            n => Spend::Keep(SecretIdEntry {
                num_uses: n - 1,
                last_updated_ms: now_ms,
                ..self.clone()
            }),
        }
    }

    /// The `data` of `secret-id/lookup` and `secret-id-accessor/lookup`.
    pub fn lookup_json(&self) -> Map<String, Value> {
        let fields = json!({
            "cidr_list": self.cidr_list,
            "creation_time": rfc3339_ms(self.creation_ms),
            "expiration_time": if self.expiration_ms == 0 {
                "0001-01-01T00:00:00Z".to_string()
            } else {
                rfc3339_ms(self.expiration_ms)
            },
            "last_updated_time": rfc3339_ms(self.last_updated_ms),
            "metadata": self.metadata,
            "secret_id_accessor": self.accessor,
            "secret_id_num_uses": self.num_uses,
            "secret_id_ttl": self.ttl,
            "token_bound_cidrs": self.token_bound_cidrs,
        });
        match fields {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_come_from_the_role_and_cannot_exceed_it() {
        assert_eq!(resolve_limits(5, 600, None, None).unwrap(), (5, 600));
        assert_eq!(resolve_limits(5, 600, Some(2), Some(60)).unwrap(), (2, 60));
        assert_eq!(
            resolve_limits(0, 0, Some(9), Some(9000)).unwrap(),
            (9, 9000)
        );
        assert!(resolve_limits(5, 600, Some(6), None).is_err());
        assert!(resolve_limits(5, 600, None, Some(601)).is_err());
    }

    #[test]
    fn uses_count_down_to_removal_and_unlimited_stays() {
        let e = SecretIdEntry::new("acc".into(), 2, 0, 1000);
        let Spend::Keep(once) = e.spend(2000) else {
            panic!("two uses: the first keeps it")
        };
        assert_eq!((once.num_uses, once.last_updated_ms), (1, 2000));
        assert_eq!(once.spend(3000), Spend::Remove);
        let unlimited = SecretIdEntry::new("acc".into(), 0, 0, 1000);
        assert_eq!(unlimited.spend(5000), Spend::Keep(unlimited.clone()));
    }

    #[test]
    fn expiry_follows_the_ttl() {
        let e = SecretIdEntry::new("acc".into(), 0, 60, 1_000);
        assert!(!e.expired(60_999));
        assert!(e.expired(61_000));
        assert!(!SecretIdEntry::new("a".into(), 0, 0, 0).expired(i64::MAX));
        let shown = e.lookup_json();
        assert_eq!(shown["secret_id_ttl"], 60);
        assert_eq!(shown["secret_id_accessor"], "acc");
        assert!(shown["expiration_time"]
            .as_str()
            .unwrap()
            .starts_with("1970-01-01T00:01:01"));
    }

    #[test]
    fn metadata_is_an_object_or_a_json_string_of_strings() {
        let m = parse_metadata(Some(&json!("{\"team\":\"web\"}"))).unwrap();
        assert_eq!(m["team"], "web");
        let m = parse_metadata(Some(&json!({"a": "b"}))).unwrap();
        assert_eq!(m["a"], "b");
        assert!(parse_metadata(Some(&json!("not json"))).is_err());
        assert!(parse_metadata(Some(&json!({"a": 1}))).is_err());
        assert!(parse_metadata(None).unwrap().is_empty());
    }

    #[test]
    fn hmacs_depend_on_key_and_value() {
        let a = hmac_hex(b"k1", "secret");
        assert_eq!(a.len(), 64);
        assert_ne!(a, hmac_hex(b"k2", "secret"));
        assert_ne!(a, hmac_hex(b"k1", "other"));
        assert!(!a.contains("secret"));
    }
}
