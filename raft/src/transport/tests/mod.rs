//! Clusters of three [`RaftHandle`]s talking over the gRPC transport: real tonic with mutual TLS
//! on loopback ports (normal build), and madsim's simulated hosts and network (`--cfg madsim`),
//! where nodes are killed, restarted and cut off.

#[cfg(not(madsim))]
mod pki;
#[cfg(madsim)]
mod sim_cluster;
#[cfg(not(madsim))]
mod tls_cluster;

use std::future::Future;
use std::time::Duration;

use crate::{Command, RaftConfig, RaftError, RaftHandle};

/// How long any convergence may take before a test fails (virtual time under madsim).
const WAIT: Duration = Duration::from_secs(30);
/// Between two looks at a condition.
const POLL: Duration = Duration::from_millis(20);

fn config(node_id: u64, cluster_addr: String) -> RaftConfig {
    RaftConfig {
        node_id,
        api_addr: format!("https://api-{node_id}:8200"),
        cluster_addr,
        ..RaftConfig::default()
    }
}

fn put(key: &str, value: &str) -> Command {
    Command::Put {
        key: key.into(),
        value: value.as_bytes().to_vec(),
    }
}

fn key(i: usize) -> String {
    format!("secret/k{i:04}")
}

fn value(i: usize) -> String {
    format!("v{i}")
}

/// Poll `check` until it holds, failing the test after [`WAIT`].
async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let started = tokio::time::Instant::now();
    while !check().await {
        assert!(started.elapsed() < WAIT, "timed out waiting for {what}");
        tokio::time::sleep(POLL).await;
    }
}

/// Whether `raft`'s applied state holds every key in `keys` with its value.
async fn has_all(raft: &RaftHandle, keys: impl IntoIterator<Item = usize>) -> bool {
    for i in keys {
        if raft.get(&key(i)).await.ok().flatten() != Some(value(i).into_bytes()) {
            return false;
        }
    }
    true
}

/// The handle among `nodes` that is leader and known as leader by itself.
fn leader_among<'a>(nodes: impl IntoIterator<Item = &'a RaftHandle>) -> Option<&'a RaftHandle> {
    nodes.into_iter().find(|raft| {
        let status = raft.metrics();
        raft.is_leader() && status.leader_id == Some(status.node_id)
    })
}

/// Write keys `range`, each through the node `leader` finds, retrying a write while leadership
/// moves (on a busy machine heartbeats can miss an election timeout; a seed can do the same).
/// Puts are idempotent, so retrying one whose outcome is unknown is safe.
async fn write_through<F, Fut>(mut leader: F, range: std::ops::Range<usize>)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = RaftHandle>,
{
    for i in range {
        eventually(&format!("write {}", key(i)), || {
            let found = leader();
            async move {
                match found.await.write(put(&key(i), &value(i))).await {
                    Ok(()) => true,
                    Err(e) if leadership_moved(&e) => false,
                    Err(e) => panic!("write {}: {e}", key(i)),
                }
            }
        })
        .await;
    }
}

/// A leader found by `leader` that has just confirmed its leadership with a quorum (a read
/// index), so every write acknowledged before is in its applied state.
async fn confirmed_leader<F, Fut>(mut leader: F) -> RaftHandle
where
    F: FnMut() -> Fut,
    Fut: Future<Output = RaftHandle>,
{
    let confirmed = parking_lot::Mutex::new(None);
    eventually("a leader that confirms its leadership", || {
        let found = leader();
        let confirmed = &confirmed;
        async move {
            let leader = found.await;
            let ok = leader.ensure_linearizable().await.is_ok();
            if ok {
                *confirmed.lock() = Some(leader);
            }
            ok
        }
    })
    .await;
    confirmed.into_inner().expect("set when confirmed")
}

/// Errors a write gets while leadership changes hands; the write may be retried elsewhere.
fn leadership_moved(e: &RaftError) -> bool {
    matches!(
        e,
        RaftError::ForwardToLeader { .. } | RaftError::Indeterminate(_) | RaftError::NoQuorum(_)
    )
}
