//! `sys/rotate/config`: Vault's settings for automatic barrier-key rotation (after
//! `max_operations` encryptions under one term, or when a term is `interval` old). Reading or
//! writing them never rotates the key: `sys/rotate` does, and `auto_rotate.rs` after a later
//! request. The settings live behind the barrier at `ROTATION_CONFIG_PATH`; a cluster that
//! never wrote them has Vault's defaults. The active state caches them (`rotation_policy`).
//!
//! `max_operations` is at least Vault's 1,000,000 unless the node was started with
//! `COFFER_ROTATION_MIN_OPERATIONS` (`ServerConfig::rotation_min_operations`), a lower floor
//! for operators and tests; nothing lowers the ceiling.

use super::Fields;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use coffer_barrier::RotationPolicy;
use serde::{Deserialize, Serialize};
use serde_json::{json, Map, Value};

/// Where the settings are stored (behind the barrier).
pub const ROTATION_CONFIG_PATH: &str = "core/rotation-config";
/// Vault's default and largest `max_operations`: just under 2^32 encryptions (NIST SP 800-38D).
pub const MAX_OPERATIONS_DEFAULT: u64 = coffer_barrier::MAX_OPERATIONS_DEFAULT;
/// The smallest `max_operations` Vault accepts.
pub const MAX_OPERATIONS_MIN: u64 = 1_000_000;
/// The shortest non-zero `interval` Vault accepts.
pub const INTERVAL_MIN_SECS: u64 = 24 * 3600;

/// The automatic-rotation settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct RotationConfig {
    pub max_operations: u64,
    /// Seconds; 0 means no time-based rotation.
    pub interval_secs: u64,
    pub enabled: bool,
}

impl Default for RotationConfig {
    fn default() -> Self {
        RotationConfig {
            max_operations: MAX_OPERATIONS_DEFAULT,
            interval_secs: 0,
            enabled: true,
        }
    }
}

impl RotationConfig {
    /// What the barrier's verdict (`coffer_barrier::rotation_due`) takes.
    pub fn policy(&self) -> RotationPolicy {
        RotationPolicy {
            enabled: self.enabled,
            max_operations: self.max_operations,
            interval_secs: self.interval_secs,
        }
    }

    /// These settings with the fields of a write applied, or Vault's 400 for a bad value.
    /// `min_operations` is the smallest `max_operations` accepted ([`MAX_OPERATIONS_MIN`]
    /// unless the node was started with a lower floor).
    pub fn updated(
        self,
        data: &Map<String, Value>,
        min_operations: u64,
    ) -> Result<RotationConfig, ApiError> {
        let f = Fields(data);
        let mut next = self;
        if let Some(v) = data.get("max_operations").filter(|v| !v.is_null()) {
            let n = match v {
                Value::Number(n) => n.as_u64(),
                Value::String(s) => s.trim().parse().ok(),
                _ => None,
            };
            next.max_operations = n.ok_or_else(|| {
                ApiError::bad("error converting input max_operations: expected an integer")
            })?;
        }
        if let Some(secs) = f.secs_opt("interval")? {
            next.interval_secs = secs;
        }
        next.enabled = f.bool_or("enabled", next.enabled)?;
        if !(min_operations..=MAX_OPERATIONS_DEFAULT).contains(&next.max_operations) {
            return Err(ApiError::bad(format!(
                "max_operations must be in the range [{min_operations},{MAX_OPERATIONS_DEFAULT}]"
            )));
        }
        if next.interval_secs != 0 && next.interval_secs < INTERVAL_MIN_SECS {
            return Err(ApiError::bad("interval must be at least 24h0m0s"));
        }
        Ok(next)
    }

    /// The body of a read, shaped as Vault's (`interval` is 0 or a Go duration).
    pub fn describe(&self) -> Value {
        let interval = match self.interval_secs {
            0 => json!(0),
            secs => json!(crate::duration::go_format(secs)),
        };
        json!({
            "max_operations": self.max_operations,
            "interval": interval,
            "enabled": self.enabled,
        })
    }
}

/// The stored settings, or the defaults.
pub async fn load(core: &Core) -> Result<RotationConfig, ApiError> {
    Ok(core
        .view("")
        .get_json(ROTATION_CONFIG_PATH)
        .await?
        .unwrap_or_default())
}

/// `sys/rotate/config`: read or write the settings.
pub async fn handle(
    core: &Core,
    active: &ActiveState,
    req: &Request,
) -> Result<Option<Response>, ApiError> {
    let current = load(core).await?;
    match req.operation {
        Operation::Read => Ok(Some(Response::data(current.describe()))),
        Operation::Create | Operation::Update => {
            let min = core
                .config
                .rotation_min_operations
                .unwrap_or(MAX_OPERATIONS_MIN);
            let next = current.updated(&req.data, min)?;
            core.view("").put_json(ROTATION_CONFIG_PATH, &next).await?;
            *active.rotation_policy.write() = Some(next.policy());
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn data(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn defaults_are_vaults() {
        let d = RotationConfig::default().describe();
        assert_eq!(
            d,
            json!({"max_operations": 3865470566u64, "interval": 0, "enabled": true})
        );
    }

    #[test]
    fn a_write_changes_only_the_fields_it_names() {
        let c = RotationConfig::default()
            .updated(&data(json!({"enabled": false})), MAX_OPERATIONS_MIN)
            .unwrap();
        assert!(!c.enabled);
        assert_eq!(c.max_operations, MAX_OPERATIONS_DEFAULT);
        let c = c
            .updated(
                &data(json!({"max_operations": "2000000000", "interval": "4320h"})),
                MAX_OPERATIONS_MIN,
            )
            .unwrap();
        assert_eq!(
            (c.max_operations, c.interval_secs, c.enabled),
            (2_000_000_000, 4320 * 3600, false)
        );
        assert_eq!(c.describe()["interval"], json!("4320h0m0s"));
    }

    #[test]
    fn out_of_range_values_are_refused() {
        let d = RotationConfig::default();
        for bad in [
            json!({"max_operations": 999_999}),
            json!({"max_operations": 3_865_470_567u64}),
            json!({"max_operations": "many"}),
            json!({"interval": "1h"}),
            json!({"enabled": "perhaps"}),
        ] {
            assert!(
                d.updated(&data(bad.clone()), MAX_OPERATIONS_MIN).is_err(),
                "{bad}"
            );
        }
    }

    #[test]
    fn a_lower_floor_admits_small_limits_but_never_a_larger_ceiling() {
        let d = RotationConfig::default();
        let small = data(json!({"max_operations": 20}));
        assert!(d.updated(&small, MAX_OPERATIONS_MIN).is_err());
        assert_eq!(d.updated(&small, 10).unwrap().max_operations, 20);
        assert!(d.updated(&data(json!({"max_operations": 9})), 10).is_err());
        let huge = data(json!({"max_operations": MAX_OPERATIONS_DEFAULT + 1}));
        assert!(d.updated(&huge, 1).is_err());
        assert_eq!(
            d.updated(&small, 10).unwrap().policy(),
            RotationPolicy {
                enabled: true,
                max_operations: 20,
                interval_secs: 0
            }
        );
    }
}
