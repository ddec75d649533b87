//! The node's side of the cluster: the cluster port (`port.rs`: Raft RPCs and forwarding on one
//! gRPC server), standby → active forwarding (`forward.rs`), and the join handshake that proves
//! a joining node holds the cluster's unseal keys (`join.rs`). The Raft transport itself lives in
//! `coffer-raft`.

pub mod autopilot;
pub mod joining;
mod open_port;
pub mod sealed_leader;
pub mod takeover;

use crate::core::Core;
use crate::error::ApiError;
use axum::body::Body;
use http::{HeaderMap, Method, Uri};

/// Whether every node answers `uri` itself, active or not (what probes and operators ask a given
/// node): `sys_paths`' `local`.
fn is_local(uri: &Uri) -> bool {
    uri.path()
        .strip_prefix("/v1/")
        .is_some_and(|path| crate::sys_paths::is(path, |p| p.local))
}

/// What became of a request at the forwarding step.
pub enum Forward {
    /// This node answers it itself.
    Local,
    /// The active node answered it; this is its answer, to pass on as it is.
    Relayed(http::Response<Body>),
    /// Neither: this node cannot answer and cannot relay (removed, no leader, a forwarded
    /// request reaching a node that lost leadership, the relay failed).
    Refused(ApiError),
}

/// On an unsealed standby, relay the request to the active node and return its answer.
pub async fn maybe_forward(
    core: &Core,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<std::net::SocketAddr>,
) -> Forward {
    let Some(raft) = core.storage.raft.as_ref() else {
        return Forward::Local;
    };
    if is_removed(raft) && !is_local(uri) {
        return Forward::Refused(ApiError::Unavailable(
            "node has been removed from the cluster".into(),
        ));
    }
    if core.storage.barrier.is_sealed() || raft.is_leader() || is_local(uri) {
        return Forward::Local;
    }
    if headers.contains_key(crate::link::forward::FORWARDED_HEADER) {
        // It was forwarded to us, but we are no longer active: let the client retry.
        return Forward::Refused(ApiError::Unavailable("node is not the active node".into()));
    }
    let leader = match wait_for_leader(raft).await {
        Some((id, _)) if id == raft.metrics().node_id => return Forward::Local,
        Some((_, leader)) => leader,
        None => {
            return Forward::Refused(ApiError::Unavailable(
                crate::link::forward::ForwardError::NoLeader.to_string(),
            ))
        }
    };
    core.storage.metrics.observe_forwarded();
    let result = core
        .link
        .forwarder
        .forward(
            &leader.cluster_addr,
            method,
            uri,
            headers,
            body.to_vec(),
            peer,
        )
        .await;
    match result {
        Ok(answer) => Forward::Relayed(answer),
        Err(e) => {
            tracing::warn!(error = %e, "forwarding failed");
            Forward::Refused(ApiError::Unavailable(e.to_string()))
        }
    }
}

/// How long a request waits for an election to name a leader before it gets a 503.
const LEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The current leader, waiting up to `LEADER_WAIT` while an election is under way.
async fn wait_for_leader(
    raft: &coffer_raft::RaftHandle,
) -> Option<(u64, coffer_raft::ClusterNode)> {
    let deadline = tokio::time::Instant::now() + LEADER_WAIT;
    loop {
        if let Some(leader) = raft.leader() {
            return Some(leader);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}

/// Whether this node was part of a cluster whose configuration no longer lists it.
fn is_removed(raft: &coffer_raft::RaftHandle) -> bool {
    let members = raft.membership();
    let me = raft.metrics().node_id;
    !members.is_empty() && !members.iter().any(|m| m.node_id == me)
}
