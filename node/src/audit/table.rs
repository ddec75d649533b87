//! The audit table: which devices are enabled, with their options and HMAC keys, stored behind
//! the barrier at `core/audit` and replicated like the mount tables.

use super::AuditError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::path::PathBuf;
use zeroize::Zeroizing;

/// Where the table lives (through the barrier).
pub const AUDIT_TABLE_PATH: &str = "core/audit";

/// One enabled device.
#[derive(Clone, Serialize, Deserialize)]
pub struct AuditDeviceEntry {
    /// Path with a trailing slash (`file/`).
    pub path: String,
    #[serde(rename = "type")]
    pub kind: String,
    pub description: String,
    pub options: BTreeMap<String, String>,
    pub local: bool,
    /// The device's HMAC key (hex), never shown.
    hmac_key: String,
}

impl std::fmt::Debug for AuditDeviceEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuditDeviceEntry")
            .field("path", &self.path)
            .field("type", &self.kind)
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl AuditDeviceEntry {
    /// A new `kind` device at `path` with a fresh HMAC key. The type and the other options are
    /// checked as the device reads them, by `audit::check_device` before it is enabled.
    pub fn new(
        path: &str,
        kind: &str,
        description: &str,
        options: BTreeMap<String, String>,
        local: bool,
    ) -> Result<AuditDeviceEntry, AuditError> {
        if kind == "file" {
            match options.get("file_path").or_else(|| options.get("path")) {
                Some(p) if !p.is_empty() => {}
                _ => return Err(AuditError::NoFilePath),
            }
        }
        let key = Zeroizing::new(crate::ids::random_bytes(32));
        let entry = AuditDeviceEntry {
            path: path.to_string(),
            kind: kind.to_string(),
            description: description.to_string(),
            options,
            local,
            hmac_key: hex::encode(key.as_slice()),
        };
        Ok(entry)
    }

    /// The file the device appends to.
    pub fn file_path(&self) -> PathBuf {
        let p = self
            .options
            .get("file_path")
            .or_else(|| self.options.get("path"))
            .cloned()
            .unwrap_or_default();
        PathBuf::from(p)
    }

    /// The HMAC key.
    pub fn hmac_key(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(hex::decode(&self.hmac_key).unwrap_or_default())
    }

    /// Whether values are logged as they are (`log_raw`), not hashed.
    pub fn log_raw(&self) -> bool {
        self.options.get("log_raw").is_some_and(|v| v == "true")
    }

    /// Vault's listing of the device.
    pub fn describe(&self) -> serde_json::Value {
        serde_json::json!({
            "type": self.kind,
            "description": self.description,
            "options": self.options,
            "path": self.path,
            "local": self.local,
        })
    }
}

/// All devices.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct AuditTable {
    pub entries: Vec<AuditDeviceEntry>,
}

impl AuditTable {
    /// The device at `path` (with or without the trailing slash).
    pub fn get(&self, path: &str) -> Option<&AuditDeviceEntry> {
        let path = normalize(path);
        self.entries.iter().find(|e| e.path == path)
    }
}

/// `file` → `file/`.
pub fn normalize(path: &str) -> String {
    format!("{}/", path.trim_matches('/'))
}
