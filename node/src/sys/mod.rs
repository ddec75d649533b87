//! The system backend (`sys/*`). Status endpoints answer without a token (and while sealed);
//! everything else has passed token and ACL checks in `pipeline.rs` before it gets here.

mod audit;
mod capabilities;
mod host_info;
mod internal;

pub(crate) mod auto_rotate;
mod internal_ui;
mod keys;
mod leases;
mod mounts;
mod plugins;
mod policy;
mod quotas;
mod raft;
mod rotate_config;
mod snapshot;
mod status;
mod tools;
mod wrapping;

use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::token::TokenEntry;
use std::sync::Arc;

pub use crate::fields::Fields;

/// Handle a status/unseal/keys endpoint that needs no token (`sys_paths`' `unauthenticated`; the
/// pipeline has already refused those that are not `sealed_ok` on a sealed node).
pub async fn handle_unauthenticated(
    core: &Arc<Core>,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    match rel {
        "init" => status::init(core, req).await,
        "seal-status" => status::seal_status(core, req).await,
        "unseal" => status::unseal(core, req).await,
        "health" => status::health(core, req).await,
        "leader" => status::leader(core, req).await,
        "generate-root/attempt" => keys::generate_root_attempt(core, req).await,
        "generate-root/update" => keys::generate_root_update(core, req).await,
        "rekey/init" => keys::rekey_init(core, req, keys::Target::Unseal).await,
        "rekey/update" => keys::rekey_update(core, req, keys::Target::Unseal).await,
        "rekey/verify" => keys::rekey_verify(core, req, keys::Target::Unseal).await,
        "rekey-recovery-key/init" => keys::rekey_init(core, req, keys::Target::Recovery).await,
        "rekey-recovery-key/update" => keys::rekey_update(core, req, keys::Target::Recovery).await,
        "rekey-recovery-key/verify" => keys::rekey_verify(core, req, keys::Target::Recovery).await,
        "storage/raft/join" => raft::join(core, req).await,
        "storage/raft/bootstrap/challenge" => raft::challenge(core, req).await,
        "storage/raft/bootstrap/answer" => raft::answer(core, req).await,
        "internal/ui/mounts" if req.operation == Operation::Read => {
            internal_ui::mounts(core, req).await
        }
        _ if rel.starts_with("internal/ui/mounts/") && req.operation == Operation::Read => {
            internal_ui::mount(core, req, &rel["internal/ui/mounts/".len()..]).await
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

/// Handle an authenticated `sys/` request; `rel` is the path after `sys/`.
pub async fn handle(
    core: &Arc<Core>,
    active: &Arc<ActiveState>,
    caller: &TokenEntry,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    // Whole paths where a path is one endpoint: `sys_paths` decides sudo on the exact path, so
    // routing must not read more into it (`sys/rotate/config` is not `sys/rotate`).
    let first = rel.split('/').next().unwrap_or_default();
    match first {
        "seal" if rel == "seal" && is_write(req) => {
            core.seal().await;
            Ok(None)
        }
        "rotate" if rel == "rotate" && is_write(req) => keys::rotate(core).await,
        "rotate" if rel == "rotate/config" => rotate_config::handle(core, active, req).await,
        "key-status" if rel == "key-status" && req.operation == Operation::Read => {
            keys::key_status(core)
        }
        "rekey" if rel == "rekey/backup" => Err(ApiError::bad("no backed-up keys found")),
        "mounts" | "remount" => {
            mounts::handle(core, active, req, rel, crate::router::Table::Secrets).await
        }
        "auth" => mounts::handle(core, active, req, rel, crate::router::Table::Auth).await,
        "internal" if rel == "internal/ui/resultant-acl" && req.operation == Operation::Read => {
            internal_ui::resultant_acl(active, caller).await
        }
        "internal" if rel.starts_with("internal/counters/") => {
            internal::counters(active, req, &rel["internal/counters/".len()..]).await
        }
        "config" if rel == "config/state/sanitized" => internal::config_state(core, req),
        "host-info" if rel == "host-info" => host_info::handle(req).await,
        "plugins" if rel.starts_with("plugins/catalog") => plugins::handle(req, rel),
        "metrics" if rel == "metrics" && req.operation == Operation::Read => {
            Ok(Some(metrics(core, req)))
        }
        "storage" if rel == "storage/raft/configuration" => raft::configuration(core, req),
        "storage" if rel == "storage/raft/remove-peer" => raft::remove_peer(core, req).await,
        "storage" if rel == "storage/raft/snapshot" => snapshot::handle(core, req, false).await,
        "storage" if rel == "storage/raft/snapshot-force" => {
            snapshot::handle(core, req, true).await
        }
        "step-down" if rel == "step-down" => raft::step_down(core, req).await,
        "storage" if rel.starts_with("storage/raft/autopilot/") => {
            raft::autopilot(core, req, &rel["storage/raft/autopilot/".len()..]).await
        }
        "ha-status" if rel == "ha-status" => raft::ha_status(core, req),
        "audit" => audit::handle(core, active, req, rel).await,
        "leases" | "renew" | "revoke" | "revoke-prefix" | "revoke-force" => {
            leases::handle(core, active, caller, req, rel).await
        }
        "audit-hash" => audit::hash(core, req, rel).await,
        "policy" | "policies" => policy::handle(active, req, rel).await,
        "wrapping" => wrapping::handle(core, active, req, rel).await,
        "quotas" => quotas::handle(core, active, req, rel).await,
        "tools" if rel.starts_with("tools/random") => {
            tools::random(req, &rel["tools/random".len()..])
        }
        "tools" if rel.starts_with("tools/hash") => tools::hash(req, &rel["tools/hash".len()..]),
        "capabilities" | "capabilities-self" | "capabilities-accessor" => {
            capabilities::handle(active, caller, req, rel).await
        }
        _ => Err(crate::error::ApiError::no_route(&req.path)),
    }
}

fn is_write(req: &Request) -> bool {
    matches!(req.operation, Operation::Create | Operation::Update)
}

/// A response whose `data` fields are also copied to the top level of the body, as Vault's older
/// sys endpoints answer (`sys/mounts`, `sys/policy`, `sys/capabilities`, ...).
pub fn legacy(data: serde_json::Value) -> Response {
    let mut resp = Response::data(data);
    resp.body = crate::request::Body::EnvelopeMerged;
    resp
}

/// `sys/metrics`: Prometheus text with `format=prometheus`, Vault's JSON otherwise.
fn metrics(core: &Core, req: &Request) -> Response {
    let gauges = core.node_gauges();
    if req.data.get("format").and_then(|v| v.as_str()) == Some("prometheus") {
        let text = core.storage.metrics.prometheus(&gauges);
        return Response::text("text/plain; version=0.0.4", text);
    }
    Response::raw(
        core.storage
            .metrics
            .json(&gauges, &crate::clock::now_rfc3339()),
    )
}
