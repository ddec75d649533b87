//! The membership lane: while the workload and the other lanes run, a fresh node (empty disk,
//! new Raft id) joins, a member is removed (`sys/storage/raft/remove-peer`, and its disk
//! wiped), or a member is replaced by a fresh node (removed, then a new one joins).
//!
//! A node joins the way the sim forms its cluster: the active node adds it to Raft as a voter
//! (learner, caught up, promoted), then it unseals (Shamir keys, or by itself through the
//! KMS). The sim cannot carry Vault's join handshake — `sys/storage/raft/join` on the new node,
//! the bootstrap challenge opened with the unseal keys, and the cluster TLS certificates
//! handed over with it — because its nodes talk plain HTTP on the cluster port.

use super::crashes::usual_disk;
use super::faults::{hold, rng, Faults};
use crate::node::SimNode;
use madsim::rand::Rng;
use serde_json::json;
use std::cell::Cell;
use std::rc::Rc;
use std::time::Duration;

/// Attempts (half a second apart) at a membership change before the lane calls it stuck.
const ATTEMPTS: u32 = 240;
/// How long one attempt may take.
const CALL_DEADLINE: Duration = Duration::from_secs(10);
const REMOVE_PEER: &str = "sys/storage/raft/remove-peer";

impl Faults<'_> {
    /// One membership change every few seconds, until `stop`. The cluster keeps between its
    /// formed size minus one (mid-replacement) and its formed size plus one.
    pub(super) async fn membership_lane(&self, stop: &Cell<bool>) {
        hold(1500, 3000).await;
        while !stop.get() {
            let n = self.cluster.members().len() as u64;
            if n > self.cluster.size {
                self.remove().await;
            } else {
                // Grow by one, or replace a member: remove one, then a fresh node joins.
                let replace = !rng().gen_bool(0.5);
                if !replace || self.remove().await {
                    self.join().await;
                }
            }
            hold(1500, 4000).await;
        }
    }

    /// A fresh node joins and unseals, then counts as a member.
    async fn join(&self) {
        let node = self.cluster.fresh_node().await;
        node.set_sync_latency(usual_disk());
        self.log.record(format!(
            "membership: {} joins (Raft id {})",
            node.name, node.raft_id
        ));
        let mut added = false;
        for attempt in 0..ATTEMPTS {
            if attempt % 20 == 19 {
                self.log_no_active();
            }
            // The joining node may already be a voter, even the active one (an earlier attempt
            // committed without an answer): asked to add itself, it answers at once.
            let active = self
                .cluster
                .active()
                .or_else(|| node.is_active().then(|| node.clone()));
            if let Some(active) = active {
                let add = tokio::time::timeout(CALL_DEADLINE * 5, active.add_voter(&node)).await;
                match add {
                    Ok(Ok(())) => {
                        added = true;
                        break;
                    }
                    Ok(Err(e)) => self
                        .log
                        .record(format!("membership: adding {} failed: {e}", node.name)),
                    Err(_) => self
                        .log
                        .record(format!("membership: adding {} timed out", node.name)),
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !added {
            self.stuck(format!("{} was never added to the cluster", node.name));
            node.wipe();
            return;
        }
        self.log
            .record(format!("membership: {} is a voter", node.name));
        if !node.wait_initialized().await || !self.unseal(&node).await {
            // A voter the checks cannot use: keep it a member all the same (it votes), so the
            // healing and the convergence check see it.
            self.log
                .record(format!("membership: {} not ready yet", node.name));
        }
        self.cluster.admit(node);
        self.report.borrow_mut().membership_changes += 1;
    }

    /// Remove a member other than the active node; false when none is free.
    async fn remove(&self) -> bool {
        let active = self.cluster.active().map(|a| a.name.clone());
        let candidates: Vec<Rc<SimNode>> = self
            .free_members()
            .into_iter()
            .filter(|n| Some(&n.name) != active.as_ref())
            .collect();
        if candidates.is_empty() {
            return false;
        }
        let node = candidates[rng().gen_range(0..candidates.len())].clone();
        let Some(_claim) = self.claim(std::slice::from_ref(&node)) else {
            return false;
        };
        self.log.record(format!("membership: remove {}", node.name));
        let body = json!({ "server_id": node.raft_id.to_string() });
        let mut removed = false;
        for attempt in 0..ATTEMPTS {
            if attempt % 20 == 19 {
                self.log_no_active();
            }
            if let Some(active) = self.cluster.active() {
                if active.name == node.name {
                    // It took over meanwhile: the active node cannot remove itself.
                    let r = active
                        .call("PUT", "sys/step-down", Some(&self.cluster.root), None)
                        .await;
                    self.log
                        .record(format!("membership: step-down {}", r.status));
                } else {
                    let root = Some(self.cluster.root.as_str());
                    let call = active.call("PUT", REMOVE_PEER, root, Some(body.clone()));
                    let status = tokio::time::timeout(CALL_DEADLINE, call)
                        .await
                        .map_or(0, |r| r.status);
                    self.log.record(format!(
                        "membership: remove-peer {} via {} answered {status}",
                        node.name, active.name
                    ));
                    // Answered, or committed without an answer.
                    let gone = active
                        .raft_members()
                        .is_some_and(|m| !m.is_empty() && !m.contains(&node.raft_id));
                    if (200..300).contains(&status) || gone {
                        removed = true;
                        break;
                    }
                }
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        if !removed {
            self.stuck(format!("{} was never removed from the cluster", node.name));
            return false;
        }
        self.cluster.forget(&node);
        node.wipe();
        self.log
            .record(format!("membership: {} removed, its disk wiped", node.name));
        self.report.borrow_mut().membership_changes += 1;
        true
    }

    /// While a change waits: each member's seal and Raft state, when none is active.
    fn log_no_active(&self) {
        if self.cluster.active().is_some() {
            return;
        }
        let states: Vec<String> = self
            .cluster
            .members()
            .iter()
            .map(|n| {
                let seal = if n.is_unsealed() {
                    "unsealed"
                } else {
                    "sealed"
                };
                let raft = n.raft_status().unwrap_or_else(|| "down".to_string());
                format!("{} {seal} {raft}", n.name)
            })
            .collect();
        self.log
            .record(format!("membership: no active node: {}", states.join("; ")));
    }

    /// A membership change that never completed, even with the cluster healthy enough to
    /// elect: a liveness failure, reported with the run's violations.
    fn stuck(&self, what: String) {
        self.log.record(format!("membership: stuck: {what}"));
        self.report
            .borrow_mut()
            .sealed_answers
            .push(format!("membership change stuck: {what}"));
    }
}
