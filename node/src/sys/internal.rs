//! `sys/internal/counters/*` and `sys/config/state/sanitized`: what Vault reports about usage
//! and configuration, with only the numbers Coffer knows. Coffer has no identity store (no
//! entities) and keeps no per-client activity log, so the client counts are the tokens that
//! exist now (all non-entity), which is what a client-count query over "now" would see.

use crate::config::{ServerConfig, StorageConfig};
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use serde_json::{json, Value};

/// `sys/internal/counters/<rest>`.
pub async fn counters(
    active: &ActiveState,
    req: &Request,
    rest: &str,
) -> Result<Option<Response>, ApiError> {
    if req.operation != Operation::Read {
        return Err(ApiError::UnsupportedOperation);
    }
    let tokens = || async { Ok::<_, ApiError>(active.tokens.accessors().await?.len()) };
    let data = match rest {
        "tokens" => json!({ "counters": { "service_tokens": { "total": tokens().await? } } }),
        "entities" => json!({ "counters": { "entities": { "total": 0 } } }),
        "activity" | "activity/monthly" => {
            let n = tokens().await?;
            let counts = json!({
                "clients": n,
                "distinct_entities": 0,
                "entity_clients": 0,
                "non_entity_clients": n,
                "non_entity_tokens": n,
                "secret_syncs": 0,
            });
            let mut data = json!({
                "by_namespace": [{
                    "namespace_id": "root",
                    "namespace_path": "",
                    "counts": counts,
                    "mounts": [],
                }],
                "months": [],
                "total": counts,
            });
            if rest == "activity" {
                let now = crate::clock::now_rfc3339();
                let field = |k: &str| req.data.get(k).and_then(Value::as_str).map(str::to_string);
                data["start_time"] = field("start_time").unwrap_or_else(|| now.clone()).into();
                data["end_time"] = field("end_time").unwrap_or(now).into();
            }
            data
        }
        "config" => json!({
            "enabled": "default-disabled",
            "retention_months": 48,
            "minimum_retention_months": 48,
            "default_report_months": 12,
            "queries_available": false,
            "reporting_enabled": false,
        }),
        _ => return Err(ApiError::no_route(&req.path)),
    };
    Ok(Some(Response::data(data)))
}

/// Vault's `time.Duration` in JSON: nanoseconds.
fn nanos(secs: u64) -> u64 {
    secs.saturating_mul(1_000_000_000)
}

/// The server configuration with every secret left out (seal stanzas show only their type and
/// whether they are disabled; storage its type and addresses), in Vault's field names.
pub fn sanitized(config: &ServerConfig) -> Value {
    let listeners: Vec<Value> = config
        .listeners
        .iter()
        .map(|l| {
            json!({
                "type": "tcp",
                "config": {
                    "address": l.address,
                    "cluster_address": l.cluster_address,
                    "tls_disable": l.tls_disable,
                    "tls_cert_file": l.tls_cert_file,
                    "tls_key_file": l.tls_key_file,
                    "tls_client_ca_file": l.tls_client_ca_file,
                    "tls_require_and_verify_client_cert": l.tls_require_and_verify_client_cert,
                    "max_request_size": l.limits.max_request_size,
                    "max_connections": l.limits.max_connections,
                },
            })
        })
        .collect();
    let storage = match &config.storage {
        StorageConfig::Raft { .. } => "raft",
        StorageConfig::Inmem => "inmem",
    };
    let seal = |block: &Option<(String, serde_json::Map<String, Value>)>| {
        block.as_ref().map(|(kind, fields)| {
            let disabled = fields
                .get("disabled")
                .is_some_and(|v| v == &json!(true) || v == &json!("true"));
            json!({ "type": kind, "disabled": disabled })
        })
    };
    let mut seals: Vec<Value> = [seal(&config.seal), seal(&config.other_seal)]
        .into_iter()
        .flatten()
        .collect();
    if seals.is_empty() {
        seals.push(json!({ "type": "shamir", "disabled": false }));
    }
    json!({
        "api_addr": config.api_addr.clone().unwrap_or_default(),
        "cluster_addr": config.cluster_addr.clone().unwrap_or_default(),
        "cluster_name": config.cluster_name.clone().unwrap_or_default(),
        "cache_size": 0,
        "default_lease_ttl": nanos(config.default_lease_ttl_secs),
        "max_lease_ttl": nanos(config.max_lease_ttl_secs),
        "default_max_request_duration": 0,
        "disable_cache": false,
        "disable_clustering": false,
        "disable_mlock": config.disable_mlock,
        "disable_performance_standby": true,
        "disable_printable_check": false,
        "disable_sealwrap": true,
        "enable_ui": config.ui,
        "raw_storage_endpoint": false,
        "listeners": listeners,
        "log_format": config.log_format,
        "log_level": config.log_level,
        "pid_file": "",
        "plugin_directory": "",
        "seals": seals,
        "storage": {
            "type": storage,
            "cluster_addr": config.cluster_addr.clone().unwrap_or_default(),
            "redirect_addr": config.api_addr.clone().unwrap_or_default(),
            "disable_clustering": false,
        },
        "service_registration": config.service_registration.as_ref().map(|_| json!({ "type": "kubernetes" })),
    })
}

/// `sys/config/state/sanitized` (sudo).
pub fn config_state(core: &Core, req: &Request) -> Result<Option<Response>, ApiError> {
    if req.operation != Operation::Read {
        return Err(ApiError::UnsupportedOperation);
    }
    Ok(Some(Response::data(sanitized(&core.config))))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_fields_never_show() {
        let mut config = ServerConfig::default();
        let mut fields = serde_json::Map::new();
        fields.insert("access_key".into(), "AKIASECRET".into());
        fields.insert("secret_key".into(), "very-secret".into());
        config.seal = Some(("awskms".into(), fields));
        let shown = sanitized(&config);
        assert_eq!(
            shown["seals"],
            json!([{ "type": "awskms", "disabled": false }])
        );
        let text = shown.to_string();
        assert!(
            !text.contains("AKIASECRET") && !text.contains("very-secret"),
            "{text}"
        );
    }
}
