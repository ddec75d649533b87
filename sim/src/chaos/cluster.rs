//! The cluster under test: formed like an operator would (init, unseal, join, unseal each,
//! mount KV v2), with the keys and root token the faults and the final checks need.

use super::EventLog;
use crate::node::{eventually, SimNode};
use crate::SimKmsHost;
use serde_json::json;
use std::cell::{Cell, RefCell};
use std::net::IpAddr;
use std::rc::Rc;
use std::time::Duration;

/// Formed cluster.
pub struct Cluster {
    /// The current members; membership faults add and remove (see [`Cluster::members`]).
    nodes: RefCell<Vec<Rc<SimNode>>>,
    /// The number the next fresh node gets (its name, Raft id and address).
    next: Cell<u64>,
    /// Snapshots installed by nodes no longer members.
    past_snapshots: Cell<u64>,
    /// The size it was formed with.
    pub size: u64,
    /// Shamir unseal keys; empty when the nodes auto-unseal through `kms`.
    pub unseal_keys: Vec<String>,
    pub root: String,
    /// The simulated KMS every node auto-unseals through, in the KMS scenarios.
    pub kms: Option<SimKmsHost>,
}

/// The KV v2 mount the workload uses.
pub const MOUNT: &str = "secret";

impl Cluster {
    /// Start `n` nodes and form one unsealed cluster with KV v2 at `secret/`; with `kms`, the
    /// nodes auto-unseal through a simulated KMS on its own host.
    pub async fn form(n: u64, kms: bool, log: &EventLog) -> Cluster {
        let kms = kms.then(|| SimKmsHost::start(IpAddr::from([10, 0, 9, 1])));
        let nodes =
            SimNode::start_many_with_kms("coffer", n, 100, 1, kms.as_ref().map(|k| k.addr)).await;
        let (unseal_keys, root) = if kms.is_some() {
            let root = nodes[0].init_auto(1, 1).await;
            (Vec::new(), root)
        } else {
            let (keys, root) = nodes[0].init(1, 1).await;
            assert_eq!(nodes[0].unseal(&keys).await.body["sealed"], false);
            (keys, root)
        };
        for other in &nodes[1..] {
            nodes[0].add_voter(other).await.expect("a voter joins");
            assert!(
                other.wait_initialized().await,
                "{} never caught up",
                other.name
            );
            if kms.is_some() {
                let unsealed = eventually(Duration::from_secs(30), || other.is_unsealed()).await;
                assert!(unsealed, "{} never auto-unsealed", other.name);
            } else {
                let status = other.unseal(&unseal_keys).await;
                assert_eq!(
                    status.body["sealed"], false,
                    "{}: {:?}",
                    other.name, status.body
                );
            }
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
        let seal = if kms.is_some() { "simkms" } else { "shamir" };
        log.record(format!("formed a cluster of {n} ({seal})"));
        Cluster {
            nodes: RefCell::new(nodes.into_iter().map(Rc::new).collect()),
            next: Cell::new(n + 1),
            past_snapshots: Cell::new(0),
            size: n,
            unseal_keys,
            root,
            kms,
        }
    }

    /// The current members, in the order they joined.
    pub fn members(&self) -> Vec<Rc<SimNode>> {
        self.nodes.borrow().clone()
    }

    /// The active node, if one is.
    pub fn active(&self) -> Option<Rc<SimNode>> {
        self.nodes.borrow().iter().find(|n| n.is_active()).cloned()
    }

    /// Start a fresh node with an empty disk (a new name, Raft id and address), not yet a
    /// member: [`Cluster::admit`] it once it has joined.
    pub async fn fresh_node(&self) -> Rc<SimNode> {
        let i = self.next.get();
        self.next.set(i + 1);
        let kms = self.kms.as_ref().map(|k| k.addr);
        let ip = IpAddr::from([10, 0, 1, i as u8]);
        let node = SimNode::start_with_kms(&format!("coffer-{i}"), 100 + i, ip, kms);
        node.wait_ready().await;
        Rc::new(node)
    }

    /// Count `node` a member.
    pub fn admit(&self, node: Rc<SimNode>) {
        self.nodes.borrow_mut().push(node);
    }

    /// Stop counting `node` a member (keeping its snapshot count).
    pub fn forget(&self, node: &SimNode) {
        self.past_snapshots
            .set(self.past_snapshots.get() + node.snapshots_installed());
        self.nodes.borrow_mut().retain(|n| n.name != node.name);
    }

    /// Snapshots installed from a leader, by every node that ever was a member.
    pub fn snapshots_installed(&self) -> u64 {
        let members: u64 = self.members().iter().map(|n| n.snapshots_installed()).sum();
        members + self.past_snapshots.get()
    }

    /// Wait (simulated) until some node is active.
    pub async fn wait_active(&self, within: Duration) -> bool {
        eventually(within, || self.active().is_some()).await
    }

    /// Unseal `node`: with the cluster's keys, or with an auto seal wait for it to unseal by
    /// itself (a sealed auto-unseal node unseals by restarting, as in Vault).
    pub async fn unseal(&self, node: &SimNode) -> bool {
        if self.kms.is_none() {
            return node.unseal(&self.unseal_keys).await.body["sealed"] == false;
        }
        if eventually(Duration::from_secs(1), || node.is_unsealed()).await {
            return true;
        }
        if node.is_running() && !node.is_unsealed() {
            node.restart();
            node.wait_ready().await;
        }
        eventually(Duration::from_secs(20), || node.is_unsealed()).await
    }
}
