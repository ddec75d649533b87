//! When the active term is due for rotation (Vault's `sys/rotate/config`): a plain verdict over
//! the term's public facts, the policy and the time, which the node asks after its writes.
//! The barrier never reads a clock; the caller passes the time.

use crate::keyring::KeyInfo;

/// Vault's default and largest `max_operations`: just under 2^32 encryptions (NIST SP 800-38D
/// bounds random-nonce AES-GCM at 2^32 messages per key).
pub const MAX_OPERATIONS_DEFAULT: u64 = 3_865_470_566;

/// When to rotate automatically.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RotationPolicy {
    /// Whether automatic rotation happens at all.
    pub enabled: bool,
    /// Rotate once the active term has encrypted this many values.
    pub max_operations: u64,
    /// Rotate once the active term is this many seconds old; 0: never for age.
    pub interval_secs: u64,
}

impl Default for RotationPolicy {
    /// Vault's defaults: enabled, [`MAX_OPERATIONS_DEFAULT`], no interval.
    fn default() -> Self {
        RotationPolicy {
            enabled: true,
            max_operations: MAX_OPERATIONS_DEFAULT,
            interval_secs: 0,
        }
    }
}

/// Why a rotation is due.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RotationReason {
    /// The term has encrypted `max_operations` values.
    MaxOperations,
    /// The term is `interval` old.
    Interval,
}

impl RotationReason {
    /// For logs: Vault's wording.
    pub fn as_str(self) -> &'static str {
        match self {
            RotationReason::MaxOperations => "reached max operations",
            RotationReason::Interval => "rotation interval reached",
        }
    }
}

/// Whether `active` (the newest term) must be rotated under `policy` at `now_unix`. The count
/// errs high (see the counter's rule), so a due verdict may come early, never late.
pub fn rotation_due(
    policy: &RotationPolicy,
    active: &KeyInfo,
    now_unix: i64,
) -> Option<RotationReason> {
    if !policy.enabled {
        return None;
    }
    if active.encryptions >= policy.max_operations {
        return Some(RotationReason::MaxOperations);
    }
    let age = now_unix.saturating_sub(active.install_time);
    let interval = i64::try_from(policy.interval_secs).unwrap_or(i64::MAX);
    if policy.interval_secs > 0 && age >= interval {
        return Some(RotationReason::Interval);
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(encryptions: u64, install_time: i64) -> KeyInfo {
        KeyInfo {
            term: 3,
            install_time,
            encryptions,
        }
    }

    fn policy(max_operations: u64, interval_secs: u64) -> RotationPolicy {
        RotationPolicy {
            enabled: true,
            max_operations,
            interval_secs,
        }
    }

    #[test]
    fn due_once_the_count_reaches_the_limit() {
        let p = policy(1_000, 0);
        assert_eq!(rotation_due(&p, &key(999, 0), 10), None);
        assert_eq!(
            rotation_due(&p, &key(1_000, 0), 10),
            Some(RotationReason::MaxOperations)
        );
        assert_eq!(
            rotation_due(&p, &key(5_000, 0), 10),
            Some(RotationReason::MaxOperations)
        );
    }

    #[test]
    fn due_once_the_term_is_interval_old() {
        let day: i64 = 86_400;
        let p = policy(MAX_OPERATIONS_DEFAULT, day as u64);
        assert_eq!(rotation_due(&p, &key(0, 1_000), 1_000 + day - 1), None);
        assert_eq!(
            rotation_due(&p, &key(0, 1_000), 1_000 + day),
            Some(RotationReason::Interval)
        );
        // A clock behind the install time is not a reason; an interval of 0 never is.
        assert_eq!(rotation_due(&p, &key(0, 1_000), 0), None);
        assert_eq!(
            rotation_due(&policy(10, 0), &key(0, 0), i64::MAX),
            None,
            "interval 0 means never for age"
        );
    }

    #[test]
    fn disabled_is_never_due() {
        let p = RotationPolicy {
            enabled: false,
            ..policy(1, 1)
        };
        assert_eq!(rotation_due(&p, &key(u64::MAX, 0), i64::MAX), None);
    }

    #[test]
    fn the_default_is_vaults() {
        let d = RotationPolicy::default();
        assert!(d.enabled);
        assert_eq!((d.max_operations, d.interval_secs), (3_865_470_566, 0));
        assert_eq!(rotation_due(&d, &key(3_865_470_565, 0), i64::MAX), None);
    }
}
