//! `sys/init`, `sys/seal-status`, `sys/unseal`, `sys/health`, `sys/leader`: what load balancers,
//! probes and operators ask before anything else, answered without a token.

use super::Fields;
use crate::core::{Core, VAULT_API_VERSION};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::unseal::InitRequest;
use base64::Engine as _;
use serde_json::json;
use std::sync::Arc;

pub async fn init(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    match req.operation {
        Operation::Read => {
            let initialized = core.is_initialized().await?;
            Ok(Some(Response::raw(json!({ "initialized": initialized }))))
        }
        Operation::Create | Operation::Update => {
            let f = Fields(&req.data);
            if f.list_opt("pgp_keys")?.is_some_and(|k| !k.is_empty())
                || f.str_opt("root_token_pgp_key")?
                    .is_some_and(|k| !k.is_empty())
            {
                return Err(ApiError::bad("PGP-encrypted key shares are not supported"));
            }
            let auto = core.storage.auto_seal.is_some();
            let request = InitRequest {
                secret_shares: f.u8_or("secret_shares", if auto { 1 } else { 0 })?,
                secret_threshold: f.u8_or("secret_threshold", if auto { 1 } else { 0 })?,
                recovery_shares: f.u8_or("recovery_shares", 5)?,
                recovery_threshold: f.u8_or("recovery_threshold", 3)?,
            };
            if request.secret_shares == 0 || request.secret_threshold == 0 {
                return Err(ApiError::bad(
                    "secret_shares and secret_threshold must be given and greater than zero",
                ));
            }
            if auto && (request.recovery_shares == 0 || request.recovery_threshold == 0) {
                return Err(ApiError::bad(
                    "recovery_shares and recovery_threshold must be greater than zero",
                ));
            }
            let result = core.initialize(request).await?;
            let b64 = |k: &zeroize::Zeroizing<Vec<u8>>| {
                base64::engine::general_purpose::STANDARD.encode(&k[..])
            };
            let hex = |k: &zeroize::Zeroizing<Vec<u8>>| hex::encode(&k[..]);
            let mut body = json!({
                "keys": result.keys.iter().map(hex).collect::<Vec<_>>(),
                "keys_base64": result.keys.iter().map(b64).collect::<Vec<_>>(),
                "root_token": result.root_token,
            });
            if auto {
                body["recovery_keys"] =
                    json!(result.recovery_keys.iter().map(hex).collect::<Vec<_>>());
                body["recovery_keys_base64"] =
                    json!(result.recovery_keys.iter().map(b64).collect::<Vec<_>>());
            }
            Ok(Some(Response::raw(body)))
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

pub async fn seal_status(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    if req.operation != Operation::Read {
        return Err(ApiError::UnsupportedOperation);
    }
    Ok(Some(Response::raw(core.seal_status().await?)))
}

pub async fn unseal(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(ApiError::UnsupportedOperation);
    }
    let f = Fields(&req.data);
    if f.bool_or("reset", false)? {
        core.reset_unseal();
        return Ok(Some(Response::raw(core.seal_status().await?)));
    }
    let key = f.str_opt("key")?.filter(|k| !k.is_empty()).ok_or_else(|| {
        ApiError::bad("'key' must be specified in request body as JSON, or 'reset' set to true")
    })?;
    if core.migration().await?.is_some() {
        if !f.bool_or("migrate", false)? {
            return Err(ApiError::bad(
                "a seal migration is pending: unseal with the migrate option (operator unseal -migrate)",
            ));
        }
        return Ok(Some(Response::raw(core.submit_migration_key(&key).await?)));
    }
    Ok(Some(Response::raw(core.submit_unseal_key(&key).await?)))
}

/// `sys/health` with Vault's query overrides (`standbyok`, `activecode`, `sealedcode`, ...).
pub async fn health(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    let f = Fields(&req.data);
    let code = |key: &str, default: u16| -> Result<u16, ApiError> {
        match f.str_opt(key)? {
            None => Ok(default),
            Some(s) => s
                .parse()
                .map_err(|_| ApiError::bad(format!("bad code given for {key}: {s}"))),
        }
    };
    let initialized = core.is_initialized().await?;
    let sealed = core.is_sealed();
    let standby = !sealed && !core.is_active();
    let status = if !initialized {
        code("uninitcode", 501)?
    } else if sealed {
        code("sealedcode", 503)?
    } else if standby {
        if f.bool_or("standbyok", false)? {
            code("activecode", 200)?
        } else {
            code("standbycode", 429)?
        }
    } else {
        code("activecode", 200)?
    };
    let info = core.cluster_info().unwrap_or_default();
    let body = json!({
        "initialized": initialized,
        "sealed": sealed,
        "standby": standby,
        "performance_standby": false,
        "replication_performance_mode": "disabled",
        "replication_dr_mode": "disabled",
        "server_time_utc": crate::clock::unix_now(),
        "version": VAULT_API_VERSION,
        "enterprise": false,
        "cluster_name": info.name,
        "cluster_id": info.id,
        "echo_duration_ms": 0,
        "clock_skew_ms": 0,
    });
    Ok(Some(Response::raw_status(status, body)))
}

pub async fn leader(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    if req.operation != Operation::Read {
        return Err(ApiError::UnsupportedOperation);
    }
    // The active node names itself; a standby names the Raft leader it follows (Vault: the
    // holder of the HA lock), or nothing while there is none.
    let (leader_address, leader_cluster_address) = match core.storage.raft.as_ref() {
        Some(raft) if !core.is_active() => raft
            .leader()
            .map(|(_, node)| (node.api_addr, node.cluster_addr))
            .unwrap_or_default(),
        _ => (
            core.config.api_addr.clone().unwrap_or_default(),
            core.config.cluster_addr.clone().unwrap_or_default(),
        ),
    };
    let active_time = core
        .active()
        .map(|a| a.active_since)
        .map(|t| {
            crate::clock::rfc3339(std::time::UNIX_EPOCH + std::time::Duration::from_secs(t as u64))
        })
        .unwrap_or_default();
    let (committed, applied) = core
        .storage
        .raft
        .as_ref()
        .map(|r| {
            let m = r.metrics();
            (
                m.last_log_index.unwrap_or(0),
                m.last_applied_index.unwrap_or(0),
            )
        })
        .unwrap_or((0, 0));
    Ok(Some(Response::raw(json!({
        "ha_enabled": core.storage.raft.is_some(),
        "is_self": core.is_active(),
        "active_time": active_time,
        "leader_address": leader_address,
        "leader_cluster_address": leader_cluster_address,
        "performance_standby": false,
        "performance_standby_last_remote_wal": 0,
        "raft_committed_index": committed,
        "raft_applied_index": applied,
    }))))
}
