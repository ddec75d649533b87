//! Healing the cluster and checking the run: linearizability per key, no lost acknowledged
//! write, no duplicate or phantom value, all nodes converged, no workload value in plaintext in
//! any engine, sealed nodes answered nothing but status; limited-use tokens within their uses
//! and dead after revocation, no stale policy verdict, every acknowledged ciphertext decrypts;
//! no secret lease revoked twice or early, every one gone by its deadline after healing.

use super::faults::FaultReport;
use super::side::Side;
use super::{Cluster, EventLog};
use crate::check::{self, Violation, ViolationKind};
use crate::history::History;
use crate::node::eventually;
use std::collections::BTreeMap;
use std::fmt;
use std::time::Duration;

/// What one seed did and found.
#[derive(Debug, Default)]
pub struct Report {
    pub ops: usize,
    pub acknowledged: usize,
    pub unknown: usize,
    pub faults: u64,
    /// Every broken property, readable.
    pub violations: Vec<String>,
    /// Of those, acknowledged writes the healed cluster lost.
    pub lost_writes: usize,
    /// Keys the linearizability search gave no verdict on (out of budget, too many ops); each
    /// is also in `violations`, so it fails the seed.
    pub inconclusive: usize,
    /// Snapshots the nodes installed from a leader (all incarnations), after healing.
    pub snapshots_installed: u64,
    /// Crashes of a majority of the members (or all of them) at once.
    pub majority_crashes: u64,
    /// Nodes added, removed or replaced while the workload ran.
    pub membership_changes: u64,
    pub event_hash: u64,
    /// Limited-use token uses the cluster served.
    pub tokens_used: usize,
    /// Policy rewrites acknowledged, and requests judged against them.
    pub policy_flips: usize,
    pub policy_reads: usize,
    /// Acknowledged ciphertexts decrypted after healing.
    pub ciphertexts_checked: usize,
    /// Secret leases the nodes registered, and revocations they carried out.
    pub leases_issued: usize,
    pub leases_revoked: usize,
    /// The whole event log, kept only when something broke.
    pub event_log: Option<String>,
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "ops {} acknowledged {} unknown {} faults {} violations {} lost writes {} \
             inconclusive {} snapshots installed {} majority crashes {} membership changes {} \
             event-log hash {:016x} tokens used {} policy flips {} policy reads {} ciphertexts checked {} \
             leases issued {} leases revoked {}",
            self.ops,
            self.acknowledged,
            self.unknown,
            self.faults,
            self.violations.len(),
            self.lost_writes,
            self.inconclusive,
            self.snapshots_installed,
            self.majority_crashes,
            self.membership_changes,
            self.event_hash,
            self.tokens_used,
            self.policy_flips,
            self.policy_reads,
            self.ciphertexts_checked,
            self.leases_issued,
            self.leases_revoked
        )
    }
}

/// How long the healed cluster gets to elect, catch up and converge.
const SETTLE: Duration = Duration::from_secs(60);

/// Heal everything, read the final state, run every checker.
pub async fn check(
    seed: u64,
    cluster: &Cluster,
    history: History,
    faults: FaultReport,
    side: &Side,
    log: &EventLog,
) -> Report {
    let mut report = Report {
        ops: history.ops().len(),
        acknowledged: history.ops().iter().filter(|o| o.is_acknowledged()).count(),
        unknown: history
            .ops()
            .iter()
            .filter(|o| o.outcome == crate::history::Outcome::Unknown)
            .count(),
        faults: faults.injected,
        majority_crashes: faults.majority_crashes,
        membership_changes: faults.membership_changes,
        violations: faults.sealed_answers,
        ..Report::default()
    };
    heal(cluster, log).await;
    let healed_at = super::client::now_ms();
    let record = |v: Violation, report: &mut Report| match v.kind {
        // No verdict is no verification: it fails the seed like a violation, counted apart and
        // named by its kind (`SearchBudgetExceeded` / `TooManyOps`).
        ViolationKind::SearchBudgetExceeded | ViolationKind::TooManyOps => {
            report.inconclusive += 1;
            log.record(format!("inconclusive: {v}"));
            report.violations.push(format!(
                "inconclusive (no verdict, so nothing verified): {v}"
            ));
        }
        kind => {
            if kind == ViolationKind::LostWrite {
                report.lost_writes += 1;
            }
            report.violations.push(v.to_string());
        }
    };
    match final_values(cluster, &history).await {
        Ok(finals) => {
            if let Err(v) = check::check_no_lost_writes(&history, &finals) {
                record(v, &mut report);
            }
        }
        Err(e) => report.violations.push(e),
    }
    for key in history.keys() {
        let single = history.only_key(key);
        if let Err(v) = check::check_linearizable(&single) {
            record(v, &mut report);
        }
    }
    if let Err(v) = check::check_no_duplicates(&history) {
        record(v, &mut report);
    }
    match node_states(cluster).await {
        Ok(states) => {
            if let Err(v) = check::converged(&states) {
                record(v, &mut report);
            }
        }
        Err(e) => report.violations.push(e),
    }
    let (token_history, policy_history) = {
        let state = side.state.borrow();
        (state.tokens.clone(), state.policy.clone())
    };
    report.tokens_used = token_history.served_uses();
    if let Err(v) = check::check_tokens(&token_history) {
        record(v, &mut report);
    }
    report.policy_flips = policy_history.flips();
    match check::check_policy(&policy_history) {
        Ok(n) => report.policy_reads = n,
        Err(v) => record(v, &mut report),
    }
    match super::transit::decrypt_all(side, cluster).await {
        Ok(decrypted) => match check::check_transit(&decrypted) {
            Ok(n) => report.ciphertexts_checked = n,
            Err(v) => record(v, &mut report),
        },
        Err(e) => report.violations.push(e),
    }
    match super::leases::liveness(side, cluster, healed_at, log).await {
        Ok(()) => check_leases(side, &mut report, &record),
        Err(e) => report.violations.push(e),
    }
    if !report.violations.is_empty() {
        for node in cluster.members() {
            let status = node.raft_status().unwrap_or_else(|| "down".to_string());
            log.record(format!("{}: {status}", node.name));
        }
    }
    // Every workload value starts with this marker: finding it is finding a plaintext value.
    let marker = super::client::value_marker(seed);
    for node in &cluster.members() {
        if node.engine_contains(marker.as_bytes()) {
            report.violations.push(format!(
                "{} stores workload values ({marker:?}…) in plaintext",
                node.name
            ));
        }
    }
    log.record(format!("checked: {} violations", report.violations.len()));
    report.snapshots_installed = cluster.snapshots_installed();
    report.event_hash = log.hash();
    // Kept when something broke, or when asked for (`COFFER_SIM_EVENTS=1`, to study a seed).
    if !report.violations.is_empty() || std::env::var_os("COFFER_SIM_EVENTS").is_some() {
        report.event_log = Some(log.dump());
    }
    report
}

/// The three lease checkers over what the workload and the nodes saw.
fn check_leases(side: &Side, report: &mut Report, record: &impl Fn(Violation, &mut Report)) {
    let leases = side.state.borrow().leases.clone();
    report.leases_issued = leases.registered().count();
    match check::check_leases_revoked_once(&leases) {
        Ok(n) => report.leases_revoked = n,
        Err(v) => record(v, report),
    }
    if let Err(v) = check::check_leases_not_early(&leases) {
        record(v, report);
    }
    if let Err(v) = check::check_leases_expired(&leases) {
        record(v, report);
    }
}

/// End every fault: network back to normal, every node up and unsealed, an active node.
async fn heal(cluster: &Cluster, log: &EventLog) {
    let net = madsim::net::NetSim::current();
    net.update_config(|c| {
        c.packet_loss_rate = 0.0;
        c.send_latency = Duration::from_millis(1)..Duration::from_millis(10);
    });
    if let Some(kms) = &cluster.kms {
        kms.unclog();
        kms.set_failing(false);
        kms.set_delay(Duration::ZERO);
    }
    for node in &cluster.members() {
        node.unclog();
        coffer_node::clock::set_skew(node.sim_id(), 0);
        if !node.is_running() {
            node.restart();
            node.wait_ready().await;
        }
    }
    for node in &cluster.members() {
        if !node.is_unsealed() {
            eventually(SETTLE, || node.is_running()).await;
            for _ in 0..40 {
                if cluster.unseal(node).await {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
    let active = cluster.wait_active(SETTLE).await;
    log.record(format!("healed; active node: {active}"));
}

/// Each key's value, read through the active node once the cluster is healed.
async fn final_values(
    cluster: &Cluster,
    history: &History,
) -> Result<BTreeMap<String, String>, String> {
    let mut finals = BTreeMap::new();
    for key in history.keys() {
        let path = format!("{}/data/{key}", super::cluster::MOUNT);
        let mut answer = None;
        for _ in 0..60 {
            let Some(active) = cluster.active() else {
                tokio::time::sleep(Duration::from_millis(500)).await;
                continue;
            };
            let r = active.call("GET", &path, Some(&cluster.root), None).await;
            if r.status == 200 || r.status == 404 {
                answer = Some(r);
                break;
            }
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
        let r =
            answer.ok_or_else(|| format!("the healed cluster never answered a read of {key}"))?;
        if let Some(v) = r.body["data"]["data"]["v"].as_str() {
            finals.insert(key.to_string(), v.to_string());
        }
    }
    Ok(finals)
}

/// Every node's local data (hex of the stored bytes), once they all agree or `SETTLE` passes.
async fn node_states(cluster: &Cluster) -> Result<Vec<BTreeMap<String, String>>, String> {
    let deadline = tokio::time::Instant::now() + SETTLE;
    loop {
        let mut states = Vec::new();
        for node in &cluster.members() {
            let data = node
                .local_data()
                .await
                .ok_or_else(|| format!("{} is down after healing", node.name))?;
            let hexed = data
                .into_iter()
                .map(|(k, v)| (k, v.iter().map(|b| format!("{b:02x}")).collect()))
                .collect();
            states.push(hexed);
        }
        if states.windows(2).all(|w| w[0] == w[1]) || tokio::time::Instant::now() >= deadline {
            return Ok(states);
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}
