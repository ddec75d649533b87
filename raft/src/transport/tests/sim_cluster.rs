//! Three nodes on madsim's simulated hosts, tonic over the simulated network, `MemEngine`
//! disks that lose unsynced writes when a host is killed.

use std::collections::BTreeMap;
use std::future::ready;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use madsim::net::NetSim;
use madsim::runtime::Handle;
use madsim::task::NodeId;
use parking_lot::Mutex;

use super::*;
use crate::transport::serve;
use crate::{ClusterNode, MemEngine, RaftError};

const CLUSTER_PORT: u16 = 8201;
/// How long a write or read may hang before the test counts it as not acknowledged.
const CALL_WAIT: Duration = Duration::from_secs(5);

/// The live handle of each Raft node, put there by the node's own init task.
type Handles = Arc<Mutex<BTreeMap<u64, RaftHandle>>>;

/// Three hosts `10.0.<net>.1..=3` running Raft ids `base + 1..=3`.
struct SimCluster {
    net: u8,
    base: u64,
    hosts: BTreeMap<u64, NodeId>,
    handles: Handles,
}

impl SimCluster {
    /// Start the hosts; node `base + 1` bootstraps and the others join as voters. `base` must
    /// differ between tests: the `MemEngine` registry is process-wide.
    async fn start(net: u8, base: u64, tune: fn(RaftConfig) -> RaftConfig) -> SimCluster {
        let mut cluster = SimCluster {
            net,
            base,
            hosts: BTreeMap::new(),
            handles: Handles::default(),
        };
        for raft_id in cluster.ids() {
            MemEngine::remove(raft_id);
            let (ip, handles) = (cluster.ip(raft_id), cluster.handles.clone());
            let host = Handle::current()
                .create_node()
                .name(format!("raft-{raft_id:x}"))
                .ip(ip)
                .init(move || run_node(raft_id, ip, tune, handles.clone()))
                .build();
            cluster.hosts.insert(raft_id, host.id());
        }
        cluster.form().await;
        cluster
    }

    async fn form(&self) {
        let first = self.raft(self.base + 1).await;
        first.bootstrap_single().await.unwrap();
        first.wait_leader(WAIT).await.unwrap();
        for raft_id in self.ids().into_iter().skip(1) {
            let node = self.member(raft_id);
            first.add_voter(raft_id, node, WAIT).await.unwrap();
        }
        assert_eq!(first.metrics().voters, self.ids());
    }

    fn ids(&self) -> Vec<u64> {
        (1..=3).map(|i| self.base + i).collect()
    }

    fn ip(&self, raft_id: u64) -> IpAddr {
        let host = u8::try_from(raft_id - self.base).unwrap();
        IpAddr::V4(Ipv4Addr::new(10, 0, self.net, host))
    }

    fn member(&self, raft_id: u64) -> ClusterNode {
        ClusterNode {
            api_addr: format!("https://api-{raft_id}:8200"),
            cluster_addr: cluster_addr(self.ip(raft_id)),
        }
    }

    /// The live handle of `raft_id`, once its host has started it.
    async fn raft(&self, raft_id: u64) -> RaftHandle {
        let mut found = None;
        eventually(&format!("node {raft_id} running"), || {
            found = self.handles.lock().get(&raft_id).cloned();
            ready(found.is_some())
        })
        .await;
        found.unwrap()
    }

    /// The leader among `ids`, once there is one.
    async fn leader_among(&self, ids: &[u64]) -> RaftHandle {
        let mut found = None;
        eventually("a leader", || {
            let handles = self.handles.lock();
            let live = ids.iter().filter_map(|id| handles.get(id));
            found = leader_among(live).cloned();
            ready(found.is_some())
        })
        .await;
        found.unwrap()
    }

    /// Kill the host of `raft_id`: its tasks stop at once and its disk loses unsynced writes.
    fn kill(&self, raft_id: u64) {
        Handle::current().kill(self.hosts[&raft_id]);
        self.handles.lock().remove(&raft_id);
        assert!(MemEngine::crash(raft_id));
    }

    fn restart(&self, raft_id: u64) {
        Handle::current().restart(self.hosts[&raft_id]);
    }

    fn clog(&self, raft_id: u64) {
        NetSim::current().clog_node(self.hosts[&raft_id]);
    }

    fn unclog(&self, raft_id: u64) {
        NetSim::current().unclog_node(self.hosts[&raft_id]);
    }
}

fn cluster_addr(ip: IpAddr) -> String {
    format!("http://{}", SocketAddr::new(ip, CLUSTER_PORT))
}

/// A host's init task (run again on restart): Raft on the host's `MemEngine`, then the cluster
/// server, forever.
async fn run_node(raft_id: u64, ip: IpAddr, tune: fn(RaftConfig) -> RaftConfig, handles: Handles) {
    let config = tune(config(raft_id, cluster_addr(ip)));
    let engine = MemEngine::open(raft_id);
    let raft = RaftHandle::start_cluster(config, engine, None)
        .await
        .expect("raft starts on its engine");
    handles.lock().insert(raft_id, raft.clone());
    let addr = SocketAddr::new(ip, CLUSTER_PORT);
    serve(&raft, addr, None, std::future::pending())
        .await
        .expect("the cluster server runs until the host dies");
}

/// What the writer racing a kill got done.
#[derive(Default)]
struct Progress {
    acked: Vec<usize>,
    stopped: bool,
}

/// Write keys from `range` through `raft` until one is not acknowledged in time; record the
/// acknowledged ones.
async fn write_until_failure(
    raft: RaftHandle,
    range: std::ops::Range<usize>,
    progress: Arc<Mutex<Progress>>,
) {
    for i in range {
        let written = tokio::time::timeout(CALL_WAIT, raft.write(put(&key(i), &value(i)))).await;
        if !matches!(written, Ok(Ok(()))) {
            break;
        }
        progress.lock().acked.push(i);
    }
    progress.lock().stopped = true;
}

#[madsim::test]
async fn killing_the_leader_loses_no_acknowledged_write() {
    let cluster = SimCluster::start(1, 0x51_0000, |c| c).await;
    let all = cluster.ids();
    write_through(|| cluster.leader_among(&all), 0..50).await;

    // More writes are in flight while the leader's host dies under them.
    let leader = confirmed_leader(|| cluster.leader_among(&all)).await;
    let old = leader.metrics().node_id;
    let progress = Arc::new(Mutex::new(Progress::default()));
    let writer = tokio::spawn(write_until_failure(leader, 50..10_000, progress.clone()));
    eventually("writes in flight", || {
        let progress = progress.lock();
        ready(progress.acked.len() >= 20 || progress.stopped)
    })
    .await;
    cluster.kill(old);
    writer.await.unwrap();
    let acked: Vec<usize> = (0..50).chain(progress.lock().acked.clone()).collect();

    let survivors: Vec<u64> = all.iter().copied().filter(|&id| id != old).collect();
    let new_leader = confirmed_leader(|| cluster.leader_among(&survivors)).await;
    assert_ne!(new_leader.metrics().node_id, old);
    let on_leader = has_all(&new_leader, acked.iter().copied()).await;
    assert!(on_leader, "every acknowledged write is on the new leader");
    for &id in &survivors {
        let raft = cluster.raft(id).await;
        eventually("survivors hold every acknowledged write", || {
            has_all(&raft, acked.iter().copied())
        })
        .await;
    }
    write_through(|| cluster.leader_among(&survivors), 20_000..20_020).await;

    cluster.restart(old);
    let back = cluster.raft(old).await;
    let everything = acked.iter().copied().chain(20_000..20_020);
    eventually("the restarted node catches up", || {
        has_all(&back, everything.clone())
    })
    .await;
}

/// Snapshots small and often, so a node that was away catches up by installing one.
fn snapshot_often(config: RaftConfig) -> RaftConfig {
    RaftConfig {
        snapshot_threshold: 10,
        trailing_logs: 2,
        ..config
    }
}

#[madsim::test]
async fn a_partitioned_minority_cannot_commit_and_the_majority_can() {
    let cluster = SimCluster::start(2, 0x52_0000, snapshot_often).await;
    let all = cluster.ids();
    write_through(|| cluster.leader_among(&all), 0..20).await;
    let old_leader = confirmed_leader(|| cluster.leader_among(&all)).await;
    let old = old_leader.metrics().node_id;
    let old_last = old_leader.metrics().last_log_index;

    cluster.clog(old);
    let lost = put("secret/minority", "never committed");
    let minority = tokio::time::timeout(CALL_WAIT, old_leader.write(lost)).await;
    assert!(
        !matches!(minority, Ok(Ok(()))),
        "the isolated leader committed a write"
    );
    let read = tokio::time::timeout(CALL_WAIT, old_leader.ensure_linearizable()).await;
    assert!(
        !matches!(read, Ok(Ok(()))),
        "the isolated leader confirmed its leadership"
    );

    let majority: Vec<u64> = all.iter().copied().filter(|&id| id != old).collect();
    write_through(|| cluster.leader_among(&majority), 20..60).await;
    let new_leader = confirmed_leader(|| cluster.leader_among(&majority)).await;
    // Once the leader has purged past the isolated node's log, only a snapshot can catch it up.
    eventually("the majority purges its log", || {
        ready(new_leader.metrics().purged_index > old_last)
    })
    .await;

    cluster.unclog(old);
    for &id in &all {
        let raft = cluster.raft(id).await;
        eventually("every node converges", || async {
            let minority_gone = raft.get("secret/minority").await.unwrap().is_none();
            let follows = raft.metrics().leader_id.is_some();
            follows && minority_gone && has_all(&raft, 0..60).await
        })
        .await;
    }
}

#[madsim::test]
async fn leadership_hands_over_and_members_leave() {
    let cluster = SimCluster::start(3, 0x53_0000, |c| c).await;
    let all = cluster.ids();
    write_through(|| cluster.leader_among(&all), 0..10).await;
    let leader = confirmed_leader(|| cluster.leader_among(&all)).await;
    let old = leader.metrics().node_id;

    let follower_id = all.iter().copied().find(|&id| id != old).unwrap();
    let follower = cluster.raft(follower_id).await;
    assert!(matches!(
        follower.step_down().await,
        Err(RaftError::ForwardToLeader { .. })
    ));

    let target = leader.step_down().await.unwrap();
    assert_ne!(target, old);
    let heir_id = [target];
    let heir = confirmed_leader(|| cluster.leader_among(&heir_id)).await;

    eventually("the old leader is removed", || async {
        match heir.remove_node(old).await {
            Ok(()) => true,
            Err(e) if leadership_moved(&e) => false,
            Err(e) => panic!("remove node {old}: {e}"),
        }
    })
    .await;
    let voters: Vec<u64> = heir.membership().iter().map(|m| m.node_id).collect();
    assert_eq!(voters.len(), 2, "{voters:?}");
    assert!(!voters.contains(&old));
    heir.remove_node(old).await.unwrap(); // already gone: a no-op
    write_through(|| cluster.leader_among(&voters), 10..20).await;
}

/// The first node keeps the default leader lease (600 ms); the others wait eight seconds
/// before they campaign, so a leader cut off for longer than its lease stays the leader.
fn patient_followers(config: RaftConfig) -> RaftConfig {
    match config.node_id & 0xff {
        1 => config,
        _ => RaftConfig {
            election_timeout_min_ms: 8_000,
            election_timeout_max_ms: 9_000,
            ..config
        },
    }
}

#[madsim::test]
async fn a_write_right_after_a_stall_longer_than_the_lease_is_not_refused() {
    let cluster = SimCluster::start(4, 0x54_0000, patient_followers).await;
    let leader = cluster.raft(0x54_0001).await;
    leader.wait_leader(WAIT).await.unwrap();
    // No quorum ack reaches the leader for longer than its lease: what a stalled runtime
    // sees when it runs again (a CPU-bound request, a paused process).
    cluster.clog(0x54_0001);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    cluster.unclog(0x54_0001);
    leader
        .write(put("secret/after-stall", "kept"))
        .await
        .expect("the write waits for the next quorum ack instead of failing");
    assert!(leader.is_leader(), "the leadership did not move");
    assert_eq!(
        leader.get("secret/after-stall").await.unwrap(),
        Some(b"kept".to_vec())
    );
}
