//! Server configuration: Vault's HCL (or JSON) blocks, parsed once into plain structs.
//!
//! Accepted: `storage "raft" {path, node_id, retry_join {...}}`, `storage "inmem" {}` (and the legacy
//! `backend` key), `listener "tcp" {...}`, `seal "..." {...}` (kept raw for the seal issue),
//! `api_addr`, `cluster_addr`, `cluster_name`, `ui`, `disable_mlock`, `default_lease_ttl`,
//! `max_lease_ttl`, `log_level`, `log_format`, `service_registration "kubernetes" {}`. Unknown
//! top-level keys are rejected, as a typo in a config file should not go unnoticed.
//!
//! [`ServerConfig::load`] also applies Vault's environment overrides (`VAULT_API_ADDR`,
//! `VAULT_CLUSTER_ADDR`, `VAULT_RAFT_NODE_ID`, which win over the file, so one file serves every
//! pod of a StatefulSet) and then [`ServerConfig::validate`]s the result (`config_check.rs`).

mod limits;

use serde_json::{Map, Value};
use std::path::{Path, PathBuf};

pub use limits::{
    ListenerLimits, DEFAULT_MAX_CONNECTIONS, DEFAULT_MAX_ENTRY_SIZE, DEFAULT_MAX_REQUEST_SIZE,
};

/// Why a config could not be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("error reading config file {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("error parsing config: {0}")]
    Parse(String),
    #[error("invalid config: {0}")]
    Invalid(String),
}

/// A `retry_join` stanza of raft storage.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RetryJoin {
    pub leader_api_addr: String,
    pub leader_ca_cert_file: Option<String>,
    pub leader_client_cert_file: Option<String>,
    pub leader_client_key_file: Option<String>,
}

/// Which storage backend holds the barrier's ciphertext.
#[derive(Debug, Clone, PartialEq)]
pub enum StorageConfig {
    /// Replicated Raft log over RocksDB at `path`.
    Raft {
        path: PathBuf,
        node_id: String,
        retry_join: Vec<RetryJoin>,
        snapshot_threshold: Option<u64>,
        trailing_logs: Option<u64>,
        /// Vault's `max_entry_size` (bytes); `None`: [`DEFAULT_MAX_ENTRY_SIZE`].
        max_entry_size: Option<u64>,
    },
    /// Nothing on disk; for tests and `-dev`.
    Inmem,
}

/// A `listener "tcp"` block.
#[derive(Debug, Clone, PartialEq)]
pub struct ListenerConfig {
    pub address: String,
    pub cluster_address: Option<String>,
    pub tls_disable: bool,
    pub tls_cert_file: Option<String>,
    pub tls_key_file: Option<String>,
    pub tls_client_ca_file: Option<String>,
    pub tls_require_and_verify_client_cert: bool,
    /// Body size, timeouts and connection cap (`max_request_size`, `http_*_timeout`,
    /// `max_connections`).
    pub limits: ListenerLimits,
}

impl Default for ListenerConfig {
    fn default() -> Self {
        ListenerConfig {
            address: "127.0.0.1:8200".into(),
            cluster_address: None,
            tls_disable: false,
            tls_cert_file: None,
            tls_key_file: None,
            tls_client_ca_file: None,
            tls_require_and_verify_client_cert: false,
            limits: ListenerLimits::default(),
        }
    }
}

/// `service_registration "kubernetes" {}`: the node keeps its own pod's labels current.
/// `VAULT_K8S_NAMESPACE` / `VAULT_K8S_POD_NAME` win over these fields, as in Vault.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct KubernetesRegistration {
    pub namespace: Option<String>,
    pub pod_name: Option<String>,
}

/// The whole server configuration.
#[derive(Debug, Clone, PartialEq)]
pub struct ServerConfig {
    pub storage: StorageConfig,
    pub listeners: Vec<ListenerConfig>,
    /// The raw `seal` block (type and fields), used by auto-unseal.
    pub seal: Option<(String, Map<String, Value>)>,
    /// A second `seal` block: Vault allows two during a seal migration, one of them
    /// `disabled = "true"` (the old seal) and the other enabled (the new one).
    pub other_seal: Option<(String, Map<String, Value>)>,
    pub api_addr: Option<String>,
    pub cluster_addr: Option<String>,
    pub cluster_name: Option<String>,
    pub ui: bool,
    pub disable_mlock: bool,
    /// Seconds.
    pub default_lease_ttl_secs: u64,
    /// Seconds.
    pub max_lease_ttl_secs: u64,
    pub log_level: String,
    pub log_format: String,
    pub service_registration: Option<KubernetesRegistration>,
    /// The smallest `max_operations` `sys/rotate/config` accepts; `None`: Vault's 1,000,000.
    /// Not a Vault setting: only the environment sets it (`COFFER_ROTATION_MIN_OPERATIONS`), an
    /// operator's or test's knob to let the barrier key rotate after fewer encryptions. It can
    /// only make rotation more frequent: the largest value (Vault's default) stays the bound.
    pub rotation_min_operations: Option<u64>,
}

/// Lowers the smallest `max_operations` of `sys/rotate/config` (see
/// [`ServerConfig::rotation_min_operations`]).
pub const ROTATION_MIN_OPERATIONS_ENV: &str = "COFFER_ROTATION_MIN_OPERATIONS";

/// Vault's default for both lease TTLs: 768h.
pub const DEFAULT_LEASE_TTL_SECS: u64 = 768 * 3600;

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            storage: StorageConfig::Inmem,
            listeners: vec![ListenerConfig::default()],
            seal: None,
            other_seal: None,
            api_addr: None,
            cluster_addr: None,
            cluster_name: None,
            ui: false,
            disable_mlock: true,
            default_lease_ttl_secs: DEFAULT_LEASE_TTL_SECS,
            max_lease_ttl_secs: DEFAULT_LEASE_TTL_SECS,
            log_level: "info".into(),
            log_format: "standard".into(),
            service_registration: None,
            rotation_min_operations: None,
        }
    }
}

impl ServerConfig {
    /// The largest replicated entry, in bytes of paths and values: raft storage's
    /// `max_entry_size`, else Vault's default (for other storage too, where it bounds nothing).
    pub fn max_entry_size(&self) -> u64 {
        match &self.storage {
            StorageConfig::Raft {
                max_entry_size: Some(max),
                ..
            } => *max,
            _ => DEFAULT_MAX_ENTRY_SIZE,
        }
    }

    /// The cluster port to bind: the first listener's `cluster_address`, else its port + 1.
    pub fn cluster_bind_addr(&self) -> Option<String> {
        let listener = self.listeners.first()?;
        if let Some(addr) = &listener.cluster_address {
            return Some(addr.clone());
        }
        let (host, port) = listener.address.rsplit_once(':')?;
        let port: u16 = port.parse().ok()?;
        Some(format!("{host}:{}", port.checked_add(1)?))
    }

    /// The cluster address other nodes dial: `cluster_addr`, else the bound cluster port.
    pub fn advertised_cluster_addr(&self) -> String {
        self.cluster_addr
            .clone()
            .or_else(|| self.cluster_bind_addr())
            .unwrap_or_default()
    }

    /// Read and parse a config file (HCL, or JSON when the name ends in `.json`), apply the
    /// process environment's overrides and validate the result.
    pub fn load(path: &Path) -> Result<ServerConfig, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        let mut config = ServerConfig::parse(&text)?;
        config.apply_env(|name| std::env::var(name).ok());
        config.validate()?;
        Ok(config)
    }

    /// Vault's environment overrides, which win over the file: `VAULT_API_ADDR`,
    /// `VAULT_CLUSTER_ADDR` and, for raft storage, `VAULT_RAFT_NODE_ID` (each also as
    /// `COFFER_*`); and Coffer's own `COFFER_ROTATION_MIN_OPERATIONS` (a value that is not a
    /// number reads as 0, which [`ServerConfig::validate`] refuses). Empty values are ignored.
    pub fn apply_env(&mut self, env: impl Fn(&str) -> Option<String>) {
        let get = |names: [&str; 2]| {
            names
                .into_iter()
                .find_map(|n| env(n).filter(|v| !v.trim().is_empty()))
        };
        if let Some(addr) = get(["VAULT_API_ADDR", "COFFER_API_ADDR"]) {
            self.api_addr = Some(addr);
        }
        if let Some(addr) = get(["VAULT_CLUSTER_ADDR", "COFFER_CLUSTER_ADDR"]) {
            self.cluster_addr = Some(addr);
        }
        if let StorageConfig::Raft { node_id, .. } = &mut self.storage {
            if let Some(id) = get(["VAULT_RAFT_NODE_ID", "COFFER_RAFT_NODE_ID"]) {
                *node_id = id;
            }
        }
        if let Some(min) = env(ROTATION_MIN_OPERATIONS_ENV).filter(|v| !v.trim().is_empty()) {
            self.rotation_min_operations = Some(min.trim().parse().unwrap_or(0));
        }
    }

    /// Parse config text: JSON if it starts with `{`, HCL otherwise.
    pub fn parse(text: &str) -> Result<ServerConfig, ConfigError> {
        let value: Value = if text.trim_start().starts_with('{') {
            serde_json::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?
        } else {
            hcl::from_str(text).map_err(|e| ConfigError::Parse(e.to_string()))?
        };
        let Value::Object(top) = value else {
            return Err(ConfigError::Parse("top level must be an object".into()));
        };
        from_object(top)
    }
}

fn from_object(top: Map<String, Value>) -> Result<ServerConfig, ConfigError> {
    let mut cfg = ServerConfig {
        listeners: Vec::new(),
        ..ServerConfig::default()
    };
    let mut storage = None;
    for (key, value) in top {
        match key.as_str() {
            "storage" | "backend" | "ha_storage" => storage = Some(parse_storage(&value)?),
            "listener" => cfg.listeners = parse_listeners(&value)?,
            "seal" => (cfg.seal, cfg.other_seal) = seal_blocks::parse(&value)?,
            "api_addr" => cfg.api_addr = Some(string(&value, &key)?),
            "cluster_addr" => cfg.cluster_addr = Some(string(&value, &key)?),
            "cluster_name" => cfg.cluster_name = Some(string(&value, &key)?),
            "ui" => cfg.ui = boolean(&value, &key)?,
            "disable_mlock" => cfg.disable_mlock = boolean(&value, &key)?,
            "default_lease_ttl" => cfg.default_lease_ttl_secs = duration(&value, &key)?,
            "max_lease_ttl" => cfg.max_lease_ttl_secs = duration(&value, &key)?,
            "log_level" => cfg.log_level = string(&value, &key)?.to_lowercase(),
            "log_format" => cfg.log_format = string(&value, &key)?,
            "service_registration" => {
                cfg.service_registration = Some(parse_service_registration(&value)?)
            }
            "telemetry"
            | "disable_cache"
            | "pid_file"
            | "plugin_directory"
            | "enable_response_header_hostname"
            | "enable_response_header_raft_node_id"
            | "log_requests_level" => {}
            other => return Err(ConfigError::Invalid(format!("unknown key {other:?}"))),
        }
    }
    cfg.storage =
        storage.ok_or_else(|| ConfigError::Invalid("a storage block is required".into()))?;
    if cfg.listeners.is_empty() {
        return Err(ConfigError::Invalid(
            "at least one listener is required".into(),
        ));
    }
    Ok(cfg)
}

/// `storage "raft" { ... }` arrives as `{"raft": {...}}` (or a list of such objects).
fn first_labelled_block(
    value: &Value,
    what: &str,
) -> Result<(String, Map<String, Value>), ConfigError> {
    let obj = match value {
        Value::Array(items) if items.len() == 1 => &items[0],
        Value::Array(_) => {
            return Err(ConfigError::Invalid(format!(
                "only one {what} block is allowed"
            )))
        }
        other => other,
    };
    let Some(map) = obj.as_object().filter(|m| m.len() == 1) else {
        return Err(ConfigError::Invalid(format!(
            "{what} block needs exactly one type label"
        )));
    };
    let (label, body) = map.iter().next().expect("checked: exactly one entry");
    let body = match body {
        Value::Object(m) => m.clone(),
        Value::Array(items) if items.len() == 1 => {
            items[0].as_object().cloned().unwrap_or_default()
        }
        _ => {
            return Err(ConfigError::Invalid(format!(
                "{what} \"{label}\" must be a block"
            )))
        }
    };
    Ok((label.clone(), body))
}

fn parse_service_registration(value: &Value) -> Result<KubernetesRegistration, ConfigError> {
    let (kind, body) = first_labelled_block(value, "service_registration")?;
    if kind != "kubernetes" {
        return Err(ConfigError::Invalid(format!(
            "service_registration type {kind:?} is not supported (use \"kubernetes\")"
        )));
    }
    let mut reg = KubernetesRegistration::default();
    for (k, v) in &body {
        match k.as_str() {
            "namespace" => reg.namespace = Some(string(v, k)?),
            "pod_name" => reg.pod_name = Some(string(v, k)?),
            other => {
                return Err(ConfigError::Invalid(format!(
                    "service_registration \"kubernetes\": unknown key {other:?}"
                )))
            }
        }
    }
    Ok(reg)
}

fn parse_storage(value: &Value) -> Result<StorageConfig, ConfigError> {
    let (kind, body) = first_labelled_block(value, "storage")?;
    match kind.as_str() {
        "inmem" => Ok(StorageConfig::Inmem),
        "raft" => {
            let path = body
                .get("path")
                .map(|v| string(v, "path"))
                .transpose()?
                .ok_or_else(|| ConfigError::Invalid("storage \"raft\" needs a path".into()))?;
            let node_id = match body.get("node_id") {
                Some(v) => string(v, "node_id")?,
                None => String::new(),
            };
            let retry_join = match body.get("retry_join") {
                None => Vec::new(),
                Some(v) => parse_retry_join(v)?,
            };
            let opt_u64 = |k: &str| body.get(k).map(|v| number(v, k)).transpose();
            Ok(StorageConfig::Raft {
                path: PathBuf::from(path),
                node_id,
                retry_join,
                snapshot_threshold: opt_u64("snapshot_threshold")?,
                trailing_logs: opt_u64("trailing_logs")?,
                max_entry_size: body
                    .get("max_entry_size")
                    .map(limits::parse_max_entry_size)
                    .transpose()?,
            })
        }
        other => Err(ConfigError::Invalid(format!(
            "storage type {other:?} is not supported (use \"raft\" or \"inmem\")"
        ))),
    }
}

fn parse_retry_join(value: &Value) -> Result<Vec<RetryJoin>, ConfigError> {
    let items: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    items
        .into_iter()
        .map(|item| {
            let get = |k: &str| item.get(k).map(|v| string(v, k)).transpose();
            Ok(RetryJoin {
                leader_api_addr: get("leader_api_addr")?.ok_or_else(|| {
                    ConfigError::Invalid("retry_join needs leader_api_addr".into())
                })?,
                leader_ca_cert_file: get("leader_ca_cert_file")?,
                leader_client_cert_file: get("leader_client_cert_file")?,
                leader_client_key_file: get("leader_client_key_file")?,
            })
        })
        .collect()
}

fn parse_listeners(value: &Value) -> Result<Vec<ListenerConfig>, ConfigError> {
    let blocks: Vec<&Value> = match value {
        Value::Array(items) => items.iter().collect(),
        other => vec![other],
    };
    let mut out = Vec::new();
    for block in blocks {
        let Some(map) = block.as_object() else {
            return Err(ConfigError::Invalid("listener must be a block".into()));
        };
        for (kind, body) in map {
            if kind != "tcp" {
                return Err(ConfigError::Invalid(format!(
                    "listener type {kind:?} is not supported"
                )));
            }
            let bodies: Vec<&Value> = match body {
                Value::Array(items) => items.iter().collect(),
                other => vec![other],
            };
            for b in bodies {
                out.push(parse_listener(b)?);
            }
        }
    }
    Ok(out)
}

fn parse_listener(body: &Value) -> Result<ListenerConfig, ConfigError> {
    let mut l = ListenerConfig::default();
    let Some(map) = body.as_object() else {
        return Err(ConfigError::Invalid(
            "listener \"tcp\" must be a block".into(),
        ));
    };
    for (k, v) in map {
        match k.as_str() {
            "address" => l.address = string(v, k)?,
            "cluster_address" => l.cluster_address = Some(string(v, k)?),
            "tls_disable" => l.tls_disable = boolean(v, k)?,
            "tls_cert_file" => l.tls_cert_file = Some(string(v, k)?),
            "tls_key_file" => l.tls_key_file = Some(string(v, k)?),
            "tls_client_ca_file" => l.tls_client_ca_file = Some(string(v, k)?),
            "tls_require_and_verify_client_cert" => {
                l.tls_require_and_verify_client_cert = boolean(v, k)?
            }
            other if l.limits.parse_key(other, v)? => {}
            _ => {} // Vault has many more listener knobs (proxy protocol, ...); we ignore them.
        }
    }
    if !l.tls_disable && (l.tls_cert_file.is_none() || l.tls_key_file.is_none()) {
        return Err(ConfigError::Invalid(
            "listener needs tls_cert_file and tls_key_file unless tls_disable is set".into(),
        ));
    }
    Ok(l)
}

fn string(v: &Value, key: &str) -> Result<String, ConfigError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        Value::Number(n) => Ok(n.to_string()),
        Value::Bool(b) => Ok(b.to_string()),
        _ => Err(ConfigError::Invalid(format!("{key} must be a string"))),
    }
}

/// Vault accepts `true`, `"true"`, `1`, `"1"` and friends.
fn boolean(v: &Value, key: &str) -> Result<bool, ConfigError> {
    match v {
        Value::Bool(b) => Ok(*b),
        Value::Number(n) => Ok(n.as_i64().unwrap_or(0) != 0),
        Value::String(s) => match s.to_lowercase().as_str() {
            "true" | "1" | "t" | "yes" => Ok(true),
            "false" | "0" | "f" | "no" | "" => Ok(false),
            _ => Err(ConfigError::Invalid(format!("{key} must be a boolean"))),
        },
        _ => Err(ConfigError::Invalid(format!("{key} must be a boolean"))),
    }
}

fn number(v: &Value, key: &str) -> Result<u64, ConfigError> {
    match v {
        Value::Number(n) => n
            .as_u64()
            .ok_or_else(|| ConfigError::Invalid(format!("{key} must be a positive integer"))),
        Value::String(s) => s
            .parse()
            .map_err(|_| ConfigError::Invalid(format!("{key} must be a positive integer"))),
        _ => Err(ConfigError::Invalid(format!("{key} must be a number"))),
    }
}

fn duration(v: &Value, key: &str) -> Result<u64, ConfigError> {
    match v {
        Value::Number(_) => number(v, key),
        Value::String(s) => {
            crate::duration::parse_secs(s).map_err(|e| ConfigError::Invalid(format!("{key}: {e}")))
        }
        _ => Err(ConfigError::Invalid(format!("{key} must be a duration"))),
    }
}

#[cfg(test)]
mod fuzz_tests;
mod seal_blocks;

#[cfg(test)]
mod tests;
