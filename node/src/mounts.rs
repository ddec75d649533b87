//! The mount table entries (`core/mounts`, `core/auth`). The table itself and the router that
//! picks a mount by longest prefix live in `router.rs`.

use crate::request::Request;
use crate::storage::StorageView;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// One call routed into a mount.
pub struct MountRequest<'a> {
    /// The original request (operation, data, token, headers).
    pub req: &'a Request,
    /// The path relative to the mount, without leading slash (`data/app/db` for `secret/data/app/db`).
    pub path: &'a str,
    /// The mount's private storage.
    pub storage: &'a StorageView,
    /// The mount table entry (type, options, config).
    pub mount: &'a MountEntry,
}

/// Per-mount tunables (`sys/mounts/<path>/tune`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct MountConfig {
    /// Seconds; 0 means "the system default".
    #[serde(default)]
    pub default_lease_ttl: u64,
    /// Seconds; 0 means "the system default".
    #[serde(default)]
    pub max_lease_ttl: u64,
    #[serde(default)]
    pub force_no_cache: bool,
    #[serde(default)]
    pub audit_non_hmac_request_keys: Vec<String>,
    #[serde(default)]
    pub audit_non_hmac_response_keys: Vec<String>,
    #[serde(default)]
    pub listing_visibility: String,
    #[serde(default)]
    pub passthrough_request_headers: Vec<String>,
    #[serde(default)]
    pub allowed_response_headers: Vec<String>,
}

impl MountConfig {
    /// The tunables Vault shows only when set (`sys/mounts`, `sys/mounts/<p>/tune`), by name.
    pub fn optional_fields(&self) -> Vec<(&'static str, serde_json::Value)> {
        let mut out = Vec::new();
        let lists = [
            (
                "audit_non_hmac_request_keys",
                &self.audit_non_hmac_request_keys,
            ),
            (
                "audit_non_hmac_response_keys",
                &self.audit_non_hmac_response_keys,
            ),
            (
                "passthrough_request_headers",
                &self.passthrough_request_headers,
            ),
            ("allowed_response_headers", &self.allowed_response_headers),
        ];
        for (name, list) in lists {
            if !list.is_empty() {
                out.push((name, serde_json::json!(list)));
            }
        }
        if !self.listing_visibility.is_empty() {
            out.push(("listing_visibility", self.listing_visibility.clone().into()));
        }
        out
    }
}

/// One entry of the secrets or auth mount table.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MountEntry {
    /// The mount path with a trailing slash, e.g. `secret/` (auth mounts: `userpass/`, without `auth/`).
    pub path: String,
    /// The engine type: `kv`, `cubbyhole`, `system`, `token`, `userpass`, ...
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    /// Storage prefix owner: the entry's data lives under `logical/<uuid>/` (auth: `auth/<uuid>/`).
    pub uuid: String,
    pub accessor: String,
    #[serde(default)]
    pub config: MountConfig,
    /// Engine options; KV uses `version` ("1" or "2").
    #[serde(default)]
    pub options: BTreeMap<String, String>,
    #[serde(default)]
    pub local: bool,
    #[serde(default)]
    pub seal_wrap: bool,
    #[serde(default)]
    pub external_entropy_access: bool,
    /// Unix seconds when the mount was created.
    #[serde(default)]
    pub running_since: i64,
}

impl MountEntry {
    /// KV version from options (`"2"` → 2, otherwise 1).
    pub fn kv_version(&self) -> u8 {
        match self.options.get("version").map(String::as_str) {
            Some("2") => 2,
            _ => 1,
        }
    }
}
