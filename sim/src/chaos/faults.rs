//! The fault schedule: several fault lanes run at once, so faults overlap. Two general lanes
//! each inject one fault at a time, drawn from the seed, held for a while and healed, with a
//! quiet gap before the next; beside them a crash lane kills a majority or every member at once
//! ([`super::crashes`]), a disk lane slows one node's syncs ([`super::crashes`]), and a
//! membership lane adds, removes and replaces nodes ([`super::membership`]). A lane that
//! kills, seals or removes a node claims it first, so no two lanes act on one node's life at
//! once; network faults need no claim and overlap freely. Restarted and sealed nodes are
//! unsealed again (what auto-unseal would do); before that, a sealed node must refuse
//! everything but status.

use super::{Cluster, EventLog};
use crate::node::SimNode;
use madsim::net::NetSim;
use madsim::rand::Rng;
use std::cell::{Cell, RefCell};
use std::collections::BTreeSet;
use std::rc::Rc;
use std::time::Duration;

/// What the faults saw.
#[derive(Debug, Default)]
pub struct FaultReport {
    /// Faults injected.
    pub injected: u64,
    /// Crashes of a majority of the members (or all of them) at once.
    pub majority_crashes: u64,
    /// Nodes added or removed (a replacement is one of each).
    pub membership_changes: u64,
    /// A sealed node that answered a data request (it must answer only status), and membership
    /// changes the healed cluster never completed.
    pub sealed_answers: Vec<String>,
}

/// The fault injector.
pub struct Faults<'a> {
    pub(super) cluster: &'a Cluster,
    pub(super) log: EventLog,
    pub(super) report: RefCell<FaultReport>,
    /// Names of the nodes some lane has claimed.
    busy: Rc<RefCell<BTreeSet<String>>>,
}

/// Nodes a lane holds; released when dropped.
pub(super) struct Claim {
    busy: Rc<RefCell<BTreeSet<String>>>,
    names: Vec<String>,
}

impl Drop for Claim {
    fn drop(&mut self) {
        let mut busy = self.busy.borrow_mut();
        for name in &self.names {
            busy.remove(name);
        }
    }
}

pub(super) fn rng() -> madsim::rand::GlobalRng {
    madsim::rand::thread_rng()
}

pub(super) async fn hold(min_ms: u64, max_ms: u64) {
    let ms = rng().gen_range(min_ms..=max_ms);
    tokio::time::sleep(Duration::from_millis(ms)).await;
}

impl<'a> Faults<'a> {
    pub fn new(cluster: &'a Cluster, log: &EventLog) -> Self {
        Faults {
            cluster,
            log: log.clone(),
            report: RefCell::new(FaultReport::default()),
            busy: Rc::default(),
        }
    }

    /// Inject faults in every lane until `stop`; each lane heals its own faults.
    pub async fn run(self, stop: Rc<Cell<bool>>) -> FaultReport {
        tokio::join!(
            self.general_lane(&stop),
            self.general_lane(&stop),
            self.crash_lane(&stop),
            self.disk_lane(&stop),
            self.membership_lane(&stop),
        );
        self.report.into_inner()
    }

    async fn general_lane(&self, stop: &Cell<bool>) {
        hold(500, 1500).await;
        while !stop.get() {
            self.one().await;
            self.report.borrow_mut().injected += 1;
            hold(300, 2000).await;
        }
    }

    /// Claim `nodes` for this lane, or `None` when any is already claimed.
    pub(super) fn claim(&self, nodes: &[Rc<SimNode>]) -> Option<Claim> {
        let mut busy = self.busy.borrow_mut();
        if nodes.iter().any(|n| busy.contains(&n.name)) {
            return None;
        }
        let names: Vec<String> = nodes.iter().map(|n| n.name.clone()).collect();
        busy.extend(names.iter().cloned());
        Some(Claim {
            busy: self.busy.clone(),
            names,
        })
    }

    /// The members no lane has claimed.
    pub(super) fn free_members(&self) -> Vec<Rc<SimNode>> {
        let busy = self.busy.borrow();
        let members = self.cluster.members();
        members
            .into_iter()
            .filter(|n| !busy.contains(&n.name))
            .collect()
    }

    fn pick(&self) -> Rc<SimNode> {
        let members = self.cluster.members();
        members[rng().gen_range(0..members.len())].clone()
    }

    /// The active node half the time (the interesting victim), else any node.
    fn victim(&self) -> Rc<SimNode> {
        match self.cluster.active() {
            Some(active) if rng().gen_bool(0.5) => active,
            _ => self.pick(),
        }
    }

    /// [`Faults::victim`], claimed; `None` when it is claimed already.
    fn claimed_victim(&self) -> Option<(Rc<SimNode>, Claim)> {
        let node = self.victim();
        let claim = self.claim(std::slice::from_ref(&node))?;
        Some((node, claim))
    }

    async fn one(&self) {
        let net = NetSim::current();
        let kinds = if self.cluster.kms.is_some() { 13 } else { 11 };
        match rng().gen_range(0..kinds) {
            0 | 1 => {
                let Some((node, _claim)) = self.claimed_victim() else {
                    return;
                };
                let (lost, unsynced) = node.kill();
                self.log.record(format!(
                    "fault: kill {} (lost {lost} of {unsynced} unsynced batches)",
                    node.name
                ));
                hold(200, 3000).await;
                self.log.record(format!("heal: restart {}", node.name));
                node.restart();
                node.wait_ready().await;
                self.check_sealed(&node).await;
                self.unseal(&node).await;
            }
            2 => {
                let Some((node, _claim)) = self.claimed_victim() else {
                    return;
                };
                self.log.record(format!("fault: isolate {}", node.name));
                node.clog();
                hold(500, 4000).await;
                self.log.record(format!("heal: reconnect {}", node.name));
                node.unclog();
            }
            3 => {
                let (minority, majority) = self.split();
                let names: Vec<&str> = minority.iter().map(|n| n.name.as_str()).collect();
                self.log.record(format!("fault: partition off {names:?}"));
                for a in &minority {
                    for b in &majority {
                        net.clog_link(a.sim_id(), b.sim_id());
                        net.clog_link(b.sim_id(), a.sim_id());
                    }
                }
                hold(500, 4000).await;
                self.log.record("heal: partition".to_string());
                for a in &minority {
                    for b in &majority {
                        net.unclog_link(a.sim_id(), b.sim_id());
                        net.unclog_link(b.sim_id(), a.sim_id());
                    }
                }
            }
            4 => {
                let (from, to) = (self.victim(), self.pick());
                if from.name != to.name {
                    self.log
                        .record(format!("fault: one-way {} -/-> {}", from.name, to.name));
                    net.clog_link(from.sim_id(), to.sim_id());
                    hold(500, 3000).await;
                    self.log.record("heal: one-way".to_string());
                    net.unclog_link(from.sim_id(), to.sim_id());
                }
            }
            5 => {
                let loss = rng().gen_range(0.01..0.2);
                let max_ms = rng().gen_range(5..80);
                self.log.record(format!(
                    "fault: packet loss {loss:.3}, latency up to {max_ms} ms"
                ));
                net.update_config(|c| {
                    c.packet_loss_rate = loss;
                    c.send_latency = Duration::from_millis(1)..Duration::from_millis(max_ms);
                });
                hold(500, 3000).await;
                self.log.record("heal: network".to_string());
                net.update_config(|c| {
                    c.packet_loss_rate = 0.0;
                    c.send_latency = Duration::from_millis(1)..Duration::from_millis(10);
                });
            }
            6 => {
                if let Some(active) = self.cluster.active() {
                    self.log.record(format!("fault: step-down {}", active.name));
                    let r = active
                        .call("PUT", "sys/step-down", Some(&self.cluster.root), None)
                        .await;
                    self.log.record(format!("step-down answered {}", r.status));
                }
            }
            7 => {
                let node = self.pick();
                self.log.record(format!("fault: rotate via {}", node.name));
                let r = node
                    .call("PUT", "sys/rotate", Some(&self.cluster.root), None)
                    .await;
                self.log.record(format!("rotate answered {}", r.status));
            }
            8 => {
                let Some((node, _claim)) = self.claimed_victim() else {
                    return;
                };
                self.log.record(format!("fault: seal {}", node.name));
                let r = node
                    .call("PUT", "sys/seal", Some(&self.cluster.root), None)
                    .await;
                self.log.record(format!("seal answered {}", r.status));
                hold(200, 2000).await;
                self.check_sealed(&node).await;
                self.unseal(&node).await;
                // On a standby, `sys/seal` is forwarded and seals the active node (as in
                // Vault): unseal whichever node it sealed.
                for other in self.cluster.members() {
                    if other.name != node.name && other.is_running() && !other.is_unsealed() {
                        self.log
                            .record(format!("{} was sealed through {}", other.name, node.name));
                        self.check_sealed(&other).await;
                        self.unseal(&other).await;
                    }
                }
            }
            9 if rng().gen_bool(0.5) => {
                let jump = rng().gen_range(200..3000);
                self.log.record(format!("fault: clock jump {jump} ms"));
                madsim::time::advance(Duration::from_millis(jump));
            }
            9 => {
                let node = self.pick();
                let skew = rng().gen_range(-5000..5000i64);
                self.log
                    .record(format!("fault: {}'s clock skewed {skew} ms", node.name));
                coffer_node::clock::set_skew(node.sim_id(), skew);
                hold(500, 4000).await;
                self.log.record(format!("heal: {}'s clock", node.name));
                coffer_node::clock::set_skew(node.sim_id(), 0);
            }
            10 => {
                self.cut_off_active().await;
            }
            _ => self.kms_fault().await,
        }
    }

    /// The KMS fails, slows down or is cut off while a node restarts: the node stays sealed
    /// (refusing data) until the KMS is back, then unseals by itself.
    async fn kms_fault(&self) {
        let Some(kms) = &self.cluster.kms else {
            return;
        };
        let Some((node, _claim)) = self.claimed_victim() else {
            return;
        };
        match rng().gen_range(0..3u32) {
            0 => {
                self.log.record("fault: KMS failing".to_string());
                kms.set_failing(true);
            }
            1 => {
                self.log.record("fault: KMS cut off".to_string());
                kms.clog();
            }
            _ => {
                let ms = rng().gen_range(100..2500);
                self.log.record(format!("fault: KMS answers {ms} ms late"));
                kms.set_delay(Duration::from_millis(ms));
            }
        }
        self.log
            .record(format!("fault: restart {} during it", node.name));
        node.restart();
        node.wait_ready().await;
        hold(500, 4000).await;
        self.check_sealed(&node).await;
        self.log.record("heal: KMS".to_string());
        kms.set_failing(false);
        kms.unclog();
        kms.set_delay(Duration::ZERO);
        self.unseal(&node).await;
    }

    /// Cut the active node off from every peer, both ways, while clients still reach it: the
    /// others elect a new leader and take writes, and whatever the old one still answers must
    /// not be stale (its reads confirm leadership with a quorum first).
    /// False when there is no active node or another lane holds it.
    pub(super) async fn cut_off_active(&self) -> bool {
        let Some(active) = self.cluster.active() else {
            return false;
        };
        let Some(_claim) = self.claim(std::slice::from_ref(&active)) else {
            return false;
        };
        let net = NetSim::current();
        let peers: Vec<Rc<SimNode>> = self
            .cluster
            .members()
            .into_iter()
            .filter(|n| n.name != active.name)
            .collect();
        self.log.record(format!(
            "fault: active {} cut off from its peers (clients still reach it)",
            active.name
        ));
        for p in &peers {
            net.clog_link(active.sim_id(), p.sim_id());
            net.clog_link(p.sim_id(), active.sim_id());
        }
        hold(2000, 6000).await;
        self.log
            .record(format!("heal: {} rejoins its peers", active.name));
        for p in &peers {
            net.unclog_link(active.sim_id(), p.sim_id());
            net.unclog_link(p.sim_id(), active.sim_id());
        }
        true
    }

    /// A random minority and the rest.
    fn split(&self) -> (Vec<Rc<SimNode>>, Vec<Rc<SimNode>>) {
        let mut majority = self.cluster.members();
        let n = majority.len();
        let size = rng().gen_range(1..=((n - 1) / 2).max(1));
        let mut minority = Vec::new();
        for _ in 0..size {
            let i = rng().gen_range(0..majority.len());
            minority.push(majority.remove(i));
        }
        (minority, majority)
    }

    /// If `node` is sealed, a data read must be refused (503), never answered.
    pub(super) async fn check_sealed(&self, node: &SimNode) {
        if node.is_unsealed() || !node.is_running() {
            return;
        }
        let r = node
            .call("GET", "secret/data/k0", Some(&self.cluster.root), None)
            .await;
        if r.status != 503 && r.status != 0 {
            self.report.borrow_mut().sealed_answers.push(format!(
                "sealed {} answered a read with {}: {}",
                node.name, r.status, r.body
            ));
        }
    }

    pub(super) async fn unseal(&self, node: &SimNode) -> bool {
        // A joined node unseals from its own replicated records; retry while the cluster is
        // in turmoil (a restarted node's engine answers at once).
        for _ in 0..20 {
            if self.cluster.unseal(node).await {
                self.log.record(format!("heal: unsealed {}", node.name));
                return true;
            }
            tokio::time::sleep(Duration::from_millis(250)).await;
        }
        self.log.record(format!("{} stayed sealed", node.name));
        false
    }
}
