//! The node's side of the cluster: the cluster port (`port.rs`: Raft RPCs and forwarding on one
//! gRPC server), standby → active forwarding (`forward.rs`), and the join handshake that proves
//! a joining node holds the cluster's unseal keys (`join.rs`). The Raft transport itself lives in
//! `coffer-raft`. `handoff.rs`: a stopping active node drains and hands leadership over.

pub mod autopilot;
pub mod handoff;
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
pub(crate) fn is_local(uri: &Uri) -> bool {
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
    /// A forwarded request reached a node that is not active (any more): it did not run here,
    /// and the standby that sent it may send it to the new active node.
    NotActive,
}

/// On an unsealed standby, relay the request to the active node and return its answer. An
/// attempt the active node surely did not run (it is not active any more, or has stopped and
/// refuses connections: a hand-over, `handoff.rs`) is sent again to the leader that follows,
/// at most [`FORWARD_ATTEMPTS`] times in all.
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
    if raft.is_removed() && !is_local(uri) {
        return Forward::Refused(ApiError::Unavailable(
            "node has been removed from the cluster".into(),
        ));
    }
    if core.storage.barrier.is_sealed() || raft.is_leader() || is_local(uri) {
        return Forward::Local;
    }
    if headers.contains_key(crate::link::forward::FORWARDED_HEADER) {
        // It was forwarded to us, but we are no longer active: the standby tries the new one.
        return Forward::NotActive;
    }
    core.storage.metrics.observe_forwarded();
    let mut refused_by = None;
    for attempt in 1..=FORWARD_ATTEMPTS {
        let leader = match wait_for_leader(raft, refused_by).await {
            Some((id, _)) if id == raft.metrics().node_id => return Forward::Local,
            Some(leader) => leader,
            None => {
                return Forward::Refused(ApiError::Unavailable(
                    crate::link::forward::ForwardError::NoLeader.to_string(),
                ))
            }
        };
        let forwarder = &core.link.forwarder;
        let addr = &leader.1.cluster_addr;
        match forwarder
            .forward(addr, method, uri, headers, body.to_vec(), peer)
            .await
        {
            Ok(answer) => return Forward::Relayed(answer),
            Err(e) if e.did_not_run() && attempt < FORWARD_ATTEMPTS => {
                tracing::debug!(error = %e, "forwarding again to the next leader");
                refused_by = Some(leader.0);
            }
            Err(e) => {
                tracing::warn!(error = %e, "forwarding failed");
                return Forward::Refused(ApiError::Unavailable(e.to_string()));
            }
        }
    }
    Forward::Refused(ApiError::Unavailable(
        "the active node changed too often".into(),
    ))
}

/// How many times a request is sent to successive active nodes that did not run it.
const FORWARD_ATTEMPTS: u32 = 3;

/// How long a request waits for an election to name a leader before it gets a 503.
const LEADER_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// The current leader, other than `not` (one that just refused the request), waiting up to
/// `LEADER_WAIT` while an election is under way.
async fn wait_for_leader(
    raft: &coffer_raft::RaftHandle,
    not: Option<u64>,
) -> Option<(u64, coffer_raft::ClusterNode)> {
    let deadline = tokio::time::Instant::now() + LEADER_WAIT;
    loop {
        if let Some(leader) = raft.leader().filter(|(id, _)| Some(*id) != not) {
            return Some(leader);
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
}
