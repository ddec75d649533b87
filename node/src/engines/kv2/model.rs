//! Pure KV v2 bookkeeping: the stored shapes, version numbering and trimming, deletion times,
//! check-and-set, and the JSON Vault answers with. No storage and no clock reads: callers pass
//! `now`, so every rule here is unit-tested on plain data.

use super::input::weak_int;
use crate::error::ApiError;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

/// Versions kept per key when neither the key nor the mount sets `max_versions` (Vault's 10).
pub const DEFAULT_MAX_VERSIONS: u32 = 10;

/// The mount-wide settings stored at `config`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KvConfig {
    /// 0 means "use [`DEFAULT_MAX_VERSIONS`]".
    #[serde(default)]
    pub max_versions: u32,
    #[serde(default)]
    pub cas_required: bool,
    /// Seconds; 0 is unset, negative disables `delete_version_after` for every key.
    #[serde(default)]
    pub delete_version_after_secs: i64,
}

/// One version's bookkeeping (its data lives in its own storage entry).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct VersionMeta {
    /// RFC 3339.
    pub created_time: String,
    /// RFC 3339, or `""` when the version has no deletion time.
    #[serde(default)]
    pub deletion_time: String,
    /// Deleted by a request (`delete`), not scheduled by `delete_version_after`: deleted whatever
    /// the clock says. Otherwise a leader whose clock runs behind the one that served the delete
    /// would read the deletion time as still ahead and serve the deleted value again (found by
    /// the simulation's clock-skew fault).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub deleted: bool,
    #[serde(default)]
    pub destroyed: bool,
}

/// Everything Vault keeps about one secret path, stored at `meta/<path>`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct KeyMeta {
    pub current_version: u64,
    /// 0 until trimming first drops a version (as in Vault).
    pub oldest_version: u64,
    pub created_time: String,
    pub updated_time: String,
    /// 0 means "use the mount's setting".
    pub max_versions: u32,
    pub cas_required: bool,
    /// Seconds; 0 is unset.
    pub delete_version_after_secs: u64,
    pub custom_metadata: Option<BTreeMap<String, String>>,
    pub versions: BTreeMap<u64, VersionMeta>,
}

impl KeyMeta {
    /// Metadata for a path that has none yet (created by a write or a metadata update).
    pub fn new(now: &str) -> Self {
        KeyMeta {
            created_time: now.to_string(),
            updated_time: now.to_string(),
            ..Default::default()
        }
    }
}

/// The key's own limit wins, then the mount's, then Vault's default.
pub fn effective_max_versions(key_max: u32, mount_max: u32) -> u32 {
    match (key_max, mount_max) {
        (0, 0) => DEFAULT_MAX_VERSIONS,
        (0, m) => m,
        (k, _) => k,
    }
}

/// Append version `current_version + 1` and slide the window of kept versions. Returns the
/// version numbers whose data must now be removed from storage.
pub fn add_version(meta: &mut KeyMeta, vm: VersionMeta, mount_max: u32) -> Vec<u64> {
    meta.current_version += 1;
    if meta.created_time.is_empty() {
        meta.created_time = vm.created_time.clone();
    }
    meta.updated_time = vm.created_time.clone();
    meta.versions.insert(meta.current_version, vm);
    let max = u64::from(effective_max_versions(meta.max_versions, mount_max));
    if meta.current_version - meta.oldest_version < max {
        return Vec::new();
    }
    let cut = meta.current_version - max;
    let first = meta.oldest_version.max(1);
    meta.versions.retain(|v, _| *v > cut);
    meta.oldest_version = cut + 1;
    (first..=cut).collect()
}

/// When a version created at `created` is due for deletion: the smaller non-zero of the mount's
/// and the key's `delete_version_after`; `None` if neither is set or the mount disables it.
pub fn deletion_time(created: SystemTime, mount_secs: i64, key_secs: u64) -> Option<SystemTime> {
    let mount = u64::try_from(mount_secs).ok()?;
    let secs = match (mount, key_secs) {
        (0, 0) => return None,
        (0, k) => k,
        (m, 0) => m,
        (m, k) => m.min(k),
    };
    Some(created + Duration::from_secs(secs))
}

/// Whether a version reads as deleted at `now`: deleted by a request, or its scheduled
/// deletion time has passed.
pub fn is_deleted(vm: &VersionMeta, now: SystemTime) -> bool {
    if vm.deleted {
        return true;
    }
    if vm.deletion_time.is_empty() {
        return false;
    }
    // Every deletion time is written by this engine; an unparsable one fails closed.
    crate::clock::parse_rfc3339(&vm.deletion_time).is_none_or(|t| t < now)
}

/// Whether the version's data is unavailable (soft-deleted or destroyed).
pub fn is_gone(vm: &VersionMeta, now: SystemTime) -> bool {
    vm.destroyed || is_deleted(vm, now)
}

/// Vault's check-and-set rule: a given `cas` must equal the current version (0: no version
/// yet); without one, the write is refused if the mount or the key requires it.
pub fn check_cas(
    cas: Option<&Value>,
    mount_required: bool,
    meta: &KeyMeta,
) -> Result<(), ApiError> {
    match cas {
        Some(raw) => {
            let cas = weak_int(raw)
                .ok_or_else(|| ApiError::bad("error parsing check-and-set parameter"))?;
            if u64::try_from(cas).ok() != Some(meta.current_version)
                && !coffer_raft::mutant::mutant("kv_cas_ignored")
            {
                return Err(ApiError::bad(
                    "check-and-set parameter did not match the current version",
                ));
            }
            Ok(())
        }
        None if mount_required || meta.cas_required => Err(ApiError::bad(
            "check-and-set parameter required for this call",
        )),
        None => Ok(()),
    }
}

/// The per-version metadata object of data reads and writes.
pub fn version_json(version: u64, vm: &VersionMeta, meta: &KeyMeta) -> Value {
    json!({
        "created_time": vm.created_time,
        "custom_metadata": meta.custom_metadata,
        "deletion_time": vm.deletion_time,
        "destroyed": vm.destroyed,
        "version": version,
    })
}

/// The body of `GET metadata/<path>`.
pub fn key_meta_json(meta: &KeyMeta) -> Value {
    let versions: serde_json::Map<String, Value> = meta
        .versions
        .iter()
        .map(|(n, vm)| {
            let v = json!({
                "created_time": vm.created_time,
                "deletion_time": vm.deletion_time,
                "destroyed": vm.destroyed,
            });
            (n.to_string(), v)
        })
        .collect();
    json!({
        "cas_required": meta.cas_required,
        "created_time": meta.created_time,
        "current_version": meta.current_version,
        "custom_metadata": meta.custom_metadata,
        "delete_version_after": go_duration(meta.delete_version_after_secs as i64),
        "max_versions": meta.max_versions,
        "oldest_version": meta.oldest_version,
        "updated_time": meta.updated_time,
        "versions": versions,
    })
}

/// The body of `GET config`.
pub fn config_json(cfg: &KvConfig) -> Value {
    json!({
        "cas_required": cfg.cas_required,
        "delete_version_after": go_duration(cfg.delete_version_after_secs),
        "max_versions": cfg.max_versions,
    })
}

/// Whole seconds formatted as Go's `time.Duration.String()`: `0s`, `1m30s`, `3h25m19s`, `-1s`.
pub fn go_duration(secs: i64) -> String {
    crate::duration::go_format_signed(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vm(t: &str) -> VersionMeta {
        VersionMeta {
            created_time: t.into(),
            ..Default::default()
        }
    }

    #[test]
    fn default_limit_keeps_ten_versions() {
        let mut meta = KeyMeta::new("t0");
        let mut dropped = Vec::new();
        for i in 1..=12 {
            dropped.extend(add_version(&mut meta, vm(&format!("t{i}")), 0));
        }
        assert_eq!(meta.current_version, 12);
        assert_eq!(meta.oldest_version, 3);
        assert_eq!(dropped, [1, 2]);
        assert_eq!(
            meta.versions.keys().copied().collect::<Vec<_>>(),
            (3..=12).collect::<Vec<_>>()
        );
        assert_eq!(meta.updated_time, "t12");
        assert_eq!(meta.created_time, "t0");
    }

    #[test]
    fn oldest_version_stays_zero_until_trimming() {
        let mut meta = KeyMeta::default();
        assert!(add_version(&mut meta, vm("a"), 3).is_empty());
        assert!(add_version(&mut meta, vm("b"), 3).is_empty());
        assert_eq!(meta.oldest_version, 0);
        assert_eq!(meta.created_time, "a");
        assert!(add_version(&mut meta, vm("c"), 3).is_empty());
        assert_eq!(meta.oldest_version, 1);
        assert_eq!(add_version(&mut meta, vm("d"), 3), [1]);
    }

    #[test]
    fn lowering_the_limit_drops_several_at_once() {
        let mut meta = KeyMeta::default();
        for _ in 0..5 {
            add_version(&mut meta, vm("x"), 0);
        }
        meta.max_versions = 2;
        assert_eq!(add_version(&mut meta, vm("y"), 0), [1, 2, 3, 4]);
        assert_eq!(meta.oldest_version, 5);
        assert_eq!(meta.versions.len(), 2);
    }

    #[test]
    fn key_limit_beats_mount_limit() {
        assert_eq!(effective_max_versions(0, 0), 10);
        assert_eq!(effective_max_versions(0, 4), 4);
        assert_eq!(effective_max_versions(7, 4), 7);
    }

    #[test]
    fn deletion_time_takes_smaller_nonzero() {
        let t = SystemTime::UNIX_EPOCH;
        let at = |s| Some(t + Duration::from_secs(s));
        assert_eq!(deletion_time(t, 0, 0), None);
        assert_eq!(deletion_time(t, 60, 0), at(60));
        assert_eq!(deletion_time(t, 0, 30), at(30));
        assert_eq!(deletion_time(t, 60, 30), at(30));
        assert_eq!(deletion_time(t, 20, 30), at(20));
        assert_eq!(deletion_time(t, -1, 30), None);
    }

    #[test]
    fn deleted_once_deletion_time_passes() {
        let t0 = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let mut v = vm("x");
        assert!(!is_deleted(&v, t0));
        v.deletion_time = crate::clock::rfc3339(t0);
        assert!(!is_deleted(&v, t0 - Duration::from_secs(1)));
        assert!(is_deleted(&v, t0 + Duration::from_secs(1)));
        v.deletion_time = "garbage".into();
        assert!(is_deleted(&v, t0));
        // Deleted by a request: deleted even on a clock that runs behind the deletion time.
        v.deletion_time = crate::clock::rfc3339(t0);
        v.deleted = true;
        assert!(is_deleted(&v, t0 - Duration::from_secs(5)));
        let destroyed = VersionMeta {
            destroyed: true,
            ..vm("x")
        };
        assert!(is_gone(&destroyed, t0));
    }

    #[test]
    fn cas_rules() {
        let mut meta = KeyMeta::default();
        assert!(check_cas(None, false, &meta).is_ok());
        assert!(check_cas(Some(&json!(0)), false, &meta).is_ok());
        meta.current_version = 2;
        assert!(check_cas(Some(&json!(2)), true, &meta).is_ok());
        assert!(check_cas(Some(&json!("2")), false, &meta).is_ok());
        let msg = |r: Result<(), ApiError>| r.unwrap_err().to_string();
        assert_eq!(
            msg(check_cas(Some(&json!(1)), false, &meta)),
            "check-and-set parameter did not match the current version"
        );
        assert_eq!(
            msg(check_cas(None, true, &meta)),
            "check-and-set parameter required for this call"
        );
        meta.cas_required = true;
        assert!(check_cas(None, false, &meta).is_err());
        assert_eq!(
            msg(check_cas(Some(&json!("x")), false, &meta)),
            "error parsing check-and-set parameter"
        );
        assert!(check_cas(Some(&json!(-2)), false, &meta).is_err());
    }

    #[test]
    fn metadata_json_shape() {
        let mut meta = KeyMeta::new("c");
        add_version(&mut meta, vm("c"), 0);
        meta.delete_version_after_secs = 12319;
        let j = key_meta_json(&meta);
        assert_eq!(j["delete_version_after"], "3h25m19s");
        assert_eq!(j["versions"]["1"]["deletion_time"], "");
        assert_eq!(j["versions"]["1"]["destroyed"], false);
        assert_eq!(j["current_version"], 1);
        assert_eq!(j["custom_metadata"], Value::Null);
        let v = version_json(1, &meta.versions[&1], &meta);
        assert_eq!(v["version"], 1);
        assert_eq!(v["created_time"], "c");
    }

    #[test]
    fn go_duration_formats() {
        assert_eq!(go_duration(0), "0s");
        assert_eq!(go_duration(90), "1m30s");
        assert_eq!(go_duration(3600), "1h0m0s");
        assert_eq!(go_duration(-1), "-1s");
        assert_eq!(
            config_json(&KvConfig::default())["delete_version_after"],
            "0s"
        );
    }
}
