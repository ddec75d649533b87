//! The cluster under test: formed like an operator would (init, unseal, join, unseal each,
//! mount KV v2), with the keys and root token the faults and the final checks need.

use super::EventLog;
use crate::node::{eventually, SimNode};
use serde_json::json;
use std::time::Duration;

/// Formed cluster.
pub struct Cluster {
    pub nodes: Vec<SimNode>,
    pub unseal_keys: Vec<String>,
    pub root: String,
}

/// The KV v2 mount the workload uses.
pub const MOUNT: &str = "secret";

impl Cluster {
    /// Start `n` nodes and form one unsealed cluster with KV v2 at `secret/`.
    pub async fn form(n: u64, log: &EventLog) -> Cluster {
        let nodes = SimNode::start_many("coffer", n, 100, 1).await;
        let (unseal_keys, root) = nodes[0].init(1, 1).await;
        assert_eq!(nodes[0].unseal(&unseal_keys).await.body["sealed"], false);
        for other in &nodes[1..] {
            nodes[0].add_voter(other).await.expect("a voter joins");
            assert!(
                other.wait_initialized().await,
                "{} never caught up",
                other.name
            );
            let status = other.unseal(&unseal_keys).await;
            assert_eq!(
                status.body["sealed"], false,
                "{}: {:?}",
                other.name, status.body
            );
        }
        let mounted = nodes[0]
            .call(
                "POST",
                &format!("sys/mounts/{MOUNT}"),
                Some(&root),
                Some(json!({"type": "kv", "options": {"version": "2"}})),
            )
            .await;
        assert_eq!(mounted.status, 204, "mount: {:?}", mounted.body);
        log.record(format!("formed a cluster of {n}"));
        Cluster {
            nodes,
            unseal_keys,
            root,
        }
    }

    /// The active node, if one is.
    pub fn active(&self) -> Option<&SimNode> {
        self.nodes.iter().find(|n| n.is_active())
    }

    /// Wait (simulated) until some node is active.
    pub async fn wait_active(&self, within: Duration) -> bool {
        eventually(within, || self.active().is_some()).await
    }

    /// Unseal `node` with the cluster's keys (what auto-unseal does after a restart).
    pub async fn unseal(&self, node: &SimNode) -> bool {
        node.unseal(&self.unseal_keys).await.body["sealed"] == false
    }
}
