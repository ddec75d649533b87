//! The seeded chaos run: a cluster of 3 or 5 simulated nodes, concurrent clients sending KV v2
//! writes, reads, deletes and CAS writes to random nodes (standbys too, so forwarding is
//! exercised), and a fault schedule drawn from the seed — kills and restarts (the active node
//! too), node and link partitions (majority/minority and one-way), packet loss and latency,
//! leader step-down, keyring rotation, seal/unseal, clock jumps, and in the KMS scenarios the
//! simulated KMS failing, slow or cut off while nodes restart. Then the cluster is healed and
//! the history goes through every checker in [`crate::check`]. Besides KV, the clients use
//! limited-use tokens and revoke them, one writer rewrites a policy under requests judged by it,
//! transit encrypts under key rotations, and certificates are leased with short TTLs that the
//! active node must expire across the faults ([`side`], [`leases`]).
//!
//! Everything random comes from madsim's seeded RNG, so `MADSIM_TEST_SEED=N` replays a run; the
//! [`EventLog`] hash is what two runs of one seed must agree on.

mod client;
mod cluster;
mod crashes;
mod events;
mod faults;
mod keys;
mod leases;
mod membership;
mod policy;
mod report;
mod side;
mod tokens;
mod transit;

pub use cluster::Cluster;
pub use events::EventLog;
pub use report::Report;

use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;

/// What one seed runs.
#[derive(Debug, Clone)]
pub struct Scenario {
    /// Cluster size (3 or 5).
    pub nodes: u64,
    /// Concurrent clients.
    pub clients: u64,
    /// How long (simulated) the workload and the faults run before healing.
    pub duration: Duration,
    /// Whether the nodes auto-unseal through a simulated KMS on its own host (whose errors,
    /// latency and partitions are then faults too) instead of Shamir keys.
    pub kms: bool,
}

impl Scenario {
    /// The scenario for `seed`: even seeds three nodes, odd seeds five; every third seed
    /// auto-unseals through the simulated KMS.
    pub fn for_seed(seed: u64) -> Scenario {
        Scenario {
            nodes: if seed.is_multiple_of(2) { 3 } else { 5 },
            clients: 4,
            duration: Duration::from_secs(12),
            kms: seed.is_multiple_of(3),
        }
    }
}

/// Run `scenario` and check what happened.
pub async fn run(seed: u64, scenario: &Scenario) -> Report {
    let log = EventLog::default();
    log.record(format!("seed {seed} scenario {scenario:?}"));
    let cluster = Cluster::form(scenario.nodes, scenario.kms, &log).await;
    let side = side::Side::setup(&cluster, &log).await;
    let keys = keys::KeyPool::new(4);
    let stop = Rc::new(Cell::new(false));
    let history = Rc::new(RefCell::new(crate::history::History::new()));
    let clients = (0..scenario.clients)
        .map(|c| client::Client::new(c, seed, &cluster, &keys, &history, &log, &stop, &side).run());
    let policy_writer = policy::writer(side.clone(), &cluster, log.clone(), stop.clone());
    let faults = faults::Faults::new(&cluster, &log);
    let timer = async {
        tokio::time::sleep(scenario.duration).await;
        stop.set(true);
    };
    let (_, fault_report, (), ()) = tokio::join!(
        futures::future::join_all(clients),
        faults.run(stop.clone()),
        timer,
        policy_writer
    );
    let history = history.borrow().clone();
    report::check(seed, &cluster, history, fault_report, &side, &log).await
}
