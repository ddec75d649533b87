//! The node's side of the cluster: the cluster port (`port.rs`: Raft RPCs and forwarding on one
//! gRPC server), standby → active forwarding (`forward.rs`), and the join handshake that proves
//! a joining node holds the cluster's unseal keys (`join.rs`). The Raft transport itself lives in
//! `coffer-raft`.

pub mod api_client;
pub mod autopilot;
pub mod challenges;
pub mod forward;
pub mod join;
pub mod joining;
pub mod port;
pub mod tls;

use crate::core::Core;
use axum::body::Body;
use http::{HeaderMap, Method, Uri};

/// Paths every node answers itself, active or not (what probes and operators ask a given node).
const LOCAL_PATHS: &[&str] = &[
    "/v1/sys/health",
    "/v1/sys/seal-status",
    "/v1/sys/unseal",
    "/v1/sys/init",
    "/v1/sys/leader",
    "/v1/sys/metrics",
    "/v1/sys/storage/raft/join",
];

/// On an unsealed standby, relay the request to the active node and return its answer; `None`
/// when this node should handle the request itself.
pub async fn maybe_forward(
    core: &Core,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
    peer: Option<std::net::SocketAddr>,
) -> Option<http::Response<Body>> {
    let raft = core.raft.as_ref()?;
    if is_removed(raft) && !LOCAL_PATHS.contains(&uri.path()) {
        let e =
            crate::error::ApiError::Unavailable("node has been removed from the cluster".into());
        return Some(crate::http::render_error(&e));
    }
    if core.barrier.is_sealed() || raft.is_leader() || LOCAL_PATHS.contains(&uri.path()) {
        return None;
    }
    if headers.contains_key(forward::FORWARDED_HEADER) {
        // It was forwarded to us, but we are no longer active: let the client retry.
        let e = crate::error::ApiError::Unavailable("node is not the active node".into());
        return Some(crate::http::render_error(&e));
    }
    let leader = match wait_for_leader(raft).await {
        Some((id, _)) if id == raft.metrics().node_id => return None,
        Some((_, leader)) => leader,
        None => {
            let e =
                crate::error::ApiError::Unavailable(forward::ForwardError::NoLeader.to_string());
            return Some(crate::http::render_error(&e));
        }
    };
    core.metrics.observe_forwarded();
    let result = core
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
    Some(result.unwrap_or_else(|e| {
        tracing::warn!(error = %e, "forwarding failed");
        crate::http::render_error(&crate::error::ApiError::Unavailable(e.to_string()))
    }))
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
