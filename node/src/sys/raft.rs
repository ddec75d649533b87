//! `sys/storage/raft/*`: join (on the joining node), the bootstrap challenge and answer (on the
//! active node), and the Raft configuration.

use super::{legacy, Fields};
use crate::core::Core;
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use serde_json::json;
use std::sync::Arc;

fn require_write(req: &Request) -> Result<(), ApiError> {
    if matches!(req.operation, Operation::Create | Operation::Update) {
        Ok(())
    } else {
        Err(ApiError::UnsupportedOperation)
    }
}

/// `sys/storage/raft/join` on a node that is not yet part of a cluster.
pub async fn join(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    require_write(req)?;
    if core.is_initialized().await? {
        return Err(ApiError::bad(
            "node is already initialized and part of a cluster",
        ));
    }
    let f = Fields(&req.data);
    let leader = f.str_req("leader_api_addr")?;
    let ca = f.str_opt("leader_ca_cert")?.filter(|c| !c.is_empty());
    let non_voter = f.bool_or("non_voter", false)?;
    core.request_join(&leader, ca, non_voter).await?;
    Ok(Some(Response::raw(json!({ "joined": true }))))
}

/// `sys/storage/raft/bootstrap/challenge` on the active node.
pub async fn challenge(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    require_write(req)?;
    Ok(Some(Response::raw(
        core.issue_join_challenge(&req.data).await?,
    )))
}

/// `sys/storage/raft/bootstrap/answer` on the active node.
pub async fn answer(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    require_write(req)?;
    core.accept_join_answer(&req.data).await?;
    Ok(Some(Response::raw(json!({ "joined": true }))))
}

/// `sys/storage/raft/configuration`: the members as Vault lists them.
pub fn configuration(core: &Core, req: &Request) -> Result<Option<Response>, ApiError> {
    if req.operation != Operation::Read {
        return Err(ApiError::UnsupportedOperation);
    }
    let raft = core.raft_handle()?;
    let leader = raft.metrics().leader_id;
    let servers: Vec<_> = raft
        .membership()
        .into_iter()
        .map(|m| {
            json!({
                "node_id": m.node_id.to_string(),
                "address": host_port(&m.node.cluster_addr),
                "leader": Some(m.node_id) == leader,
                "protocol_version": "3",
                "voter": m.voter,
            })
        })
        .collect();
    let index = raft.metrics().last_applied_index.unwrap_or(0);
    Ok(Some(legacy(
        json!({ "config": { "servers": servers, "index": index } }),
    )))
}

/// A cluster address as Vault prints a peer's: `host:port`, without the scheme.
fn host_port(addr: &str) -> &str {
    addr.split_once("://").map_or(addr, |(_, rest)| rest)
}

/// `sys/storage/raft/remove-peer`: take a node out of the Raft configuration.
pub async fn remove_peer(core: &Core, req: &Request) -> Result<Option<Response>, ApiError> {
    require_write(req)?;
    let raft = core.raft_handle()?;
    let server_id = Fields(&req.data).str_req("server_id")?;
    let id: u64 = server_id
        .parse()
        .map_err(|_| ApiError::bad(format!("unknown server id {server_id:?}")))?;
    if id == raft.metrics().node_id {
        return Err(ApiError::bad(
            "the active node cannot remove itself; step down first",
        ));
    }
    raft.remove_node(id)
        .await
        .map_err(|e| ApiError::Unavailable(e.to_string()))?;
    tracing::info!(node = id, "removed from the cluster");
    Ok(None)
}

/// `sys/step-down`: hand leadership to the most caught-up voter.
pub async fn step_down(core: &Core, req: &Request) -> Result<Option<Response>, ApiError> {
    require_write(req)?;
    let raft = core.raft_handle()?;
    let to = raft
        .step_down()
        .await
        .map_err(|e| ApiError::bad(e.to_string()))?;
    tracing::info!(to, "stepped down");
    Ok(None)
}

/// `sys/ha-status`: the nodes of the cluster and which one is active (Vault's `operator members`).
pub fn ha_status(core: &Core, req: &Request) -> Result<Option<Response>, ApiError> {
    if req.operation != Operation::Read {
        return Err(ApiError::UnsupportedOperation);
    }
    let raft = core.raft_handle()?;
    let leader = raft.metrics().leader_id;
    let nodes: Vec<_> = raft
        .membership()
        .into_iter()
        .map(|m| {
            json!({
                "hostname": format!("node-{}", m.node_id),
                "api_address": m.node.api_addr,
                "cluster_address": m.node.cluster_addr,
                "active_node": Some(m.node_id) == leader,
                "version": crate::core::VAULT_API_VERSION,
                "upgrade_version": crate::core::VAULT_API_VERSION,
                "redundancy_zone": "",
                "voter": m.voter,
            })
        })
        .collect();
    Ok(Some(legacy(json!({ "nodes": nodes }))))
}

/// `sys/storage/raft/autopilot/state` and `.../configuration`.
pub async fn autopilot(
    core: &Core,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    use crate::cluster::autopilot::state_json;
    match (rel, req.operation) {
        ("state", Operation::Read) => {
            let health = core.autopilot_health().await?;
            Ok(Some(legacy(state_json(&health))))
        }
        ("configuration", Operation::Read) => {
            Ok(Some(legacy(core.autopilot_config().await?.to_json())))
        }
        ("configuration", Operation::Create | Operation::Update) => {
            let mut config = core.autopilot_config().await?;
            config.apply(&req.data)?;
            core.set_autopilot_config(&config).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
