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
    let raft = core
        .raft
        .as_ref()
        .ok_or_else(|| ApiError::bad("storage is not raft"))?;
    let leader = raft.metrics().leader_id;
    let servers: Vec<_> = raft
        .membership()
        .into_iter()
        .map(|m| {
            json!({
                "node_id": m.node_id.to_string(),
                "address": m.node.cluster_addr,
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
