//! One secret lease as stored at `sys/expire/id/<lease_id>`, and Vault's TTL rules for it as
//! plain functions: the TTL an engine's secret gets when it is registered (the mount's default
//! when the engine gives none, capped by the max TTL) and how far a renewal may extend it.

use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};
use std::time::{Duration, UNIX_EPOCH};

/// A secret lease behind the barrier. `internal` is the engine's own data (never shown).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LeaseRecord {
    pub lease_id: String,
    /// The mount that issued it, by uuid (survives a remount) and by path (for messages).
    pub mount_uuid: String,
    pub mount_path: String,
    /// The request path that created it (`pki/issue/web`).
    pub path: String,
    pub issue_time_ms: i64,
    pub expire_time_ms: i64,
    #[serde(default)]
    pub last_renewal_ms: Option<i64>,
    /// No renewal extends the lease past this instant (issue time plus the max TTL).
    pub max_expire_ms: i64,
    pub renewable: bool,
    #[serde(default)]
    pub internal: Map<String, Value>,
    /// The accessor of the token that asked for it ("" if none): revoking that token
    /// revokes the lease.
    #[serde(default)]
    pub accessor: String,
}

/// The TTL settings that bound a lease: the mount's tune (0: unset) and the system's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Limits {
    pub mount_default_secs: u64,
    pub mount_max_secs: u64,
    pub system_default_secs: u64,
    pub system_max_secs: u64,
}

impl Limits {
    /// The mount's max TTL, else the system's.
    pub fn max_secs(&self) -> u64 {
        if self.mount_max_secs > 0 {
            self.mount_max_secs
        } else {
            self.system_max_secs
        }
    }

    /// The mount's default TTL, else the system's; never above the max.
    pub fn default_secs(&self) -> u64 {
        let default = if self.mount_default_secs > 0 {
            self.mount_default_secs
        } else {
            self.system_default_secs
        };
        default.min(self.max_secs())
    }
}

/// `(ttl, max_ttl)` in seconds for a secret the engine leased with `ttl_secs` and
/// `max_ttl_secs` (0: the mount's default / max): as Vault, the TTL is capped by the max TTL,
/// and the engine's own max may only lower the mount's.
pub fn initial_ttl(ttl_secs: u64, max_ttl_secs: u64, limits: &Limits) -> (u64, u64) {
    let mut max = limits.max_secs();
    if max_ttl_secs > 0 {
        max = max.min(max_ttl_secs);
    }
    let ttl = if ttl_secs == 0 {
        limits.default_secs()
    } else {
        ttl_secs
    };
    (ttl.min(max), max)
}

/// Saturating `ms + secs * 1000`.
pub fn add_secs(ms: i64, secs: u64) -> i64 {
    let add = i64::try_from(secs.saturating_mul(1000)).unwrap_or(i64::MAX);
    ms.saturating_add(add)
}

impl LeaseRecord {
    /// The expiry a renewal granting `granted_secs` from `now_ms` gives: never past the max.
    pub fn renewed_expiry(&self, granted_secs: u64, now_ms: i64) -> i64 {
        add_secs(now_ms, granted_secs).min(self.max_expire_ms)
    }

    /// Whole seconds left at `now_ms` (0 once expired).
    pub fn ttl_secs(&self, now_ms: i64) -> u64 {
        u64::try_from(self.expire_time_ms.saturating_sub(now_ms).max(0) / 1000).unwrap_or(0)
    }

    /// `sys/leases/lookup`'s data, as Vault 1.16 shapes it.
    pub fn lookup_json(&self, now_ms: i64) -> Value {
        json!({
            "id": self.lease_id,
            "issue_time": rfc3339_ms(self.issue_time_ms),
            "expire_time": rfc3339_ms(self.expire_time_ms),
            "last_renewal": self.last_renewal_ms.map(rfc3339_ms),
            "renewable": self.renewable,
            "ttl": self.ttl_secs(now_ms),
        })
    }
}

fn rfc3339_ms(ms: i64) -> String {
    crate::clock::rfc3339(UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: Limits = Limits {
        mount_default_secs: 0,
        mount_max_secs: 60,
        system_default_secs: 3600,
        system_max_secs: 7200,
    };

    #[test]
    fn ttl_defaults_to_the_mount_and_is_capped_by_its_max() {
        assert_eq!(
            initial_ttl(0, 0, &LIMITS),
            (60, 60),
            "system default capped by mount max"
        );
        assert_eq!(initial_ttl(30, 0, &LIMITS), (30, 60));
        assert_eq!(initial_ttl(600, 0, &LIMITS), (60, 60));
        assert_eq!(
            initial_ttl(600, 20, &LIMITS),
            (20, 20),
            "the engine's max lowers it"
        );
        let system = Limits {
            mount_max_secs: 0,
            ..LIMITS
        };
        assert_eq!(initial_ttl(9000, 0, &system), (7200, 7200));
    }

    #[test]
    fn renewal_never_passes_the_max_expiry() {
        let rec = LeaseRecord {
            lease_id: "pki/issue/r/x".into(),
            mount_uuid: "u".into(),
            mount_path: "pki/".into(),
            path: "pki/issue/r".into(),
            issue_time_ms: 0,
            expire_time_ms: 10_000,
            last_renewal_ms: None,
            max_expire_ms: 60_000,
            renewable: true,
            internal: Map::new(),
            accessor: String::new(),
        };
        assert_eq!(rec.renewed_expiry(30, 5_000), 35_000);
        assert_eq!(rec.renewed_expiry(3600, 5_000), 60_000);
        assert_eq!(rec.ttl_secs(4_500), 5);
        assert_eq!(rec.ttl_secs(20_000), 0);
        assert_eq!(add_secs(i64::MAX - 1, u64::MAX), i64::MAX);
    }
}
