//! [`RaftHandle`]: what the node crate holds — start, bootstrap, write, read, list, status,
//! shutdown — over openraft, the storage and the network seam. Cluster operations (the gRPC
//! transport, membership, leadership) are in [`cluster`].

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use openraft::network::{NetSnapshot, RaftNetworkFactory};
use openraft::{Instant as _, Raft, ReadPolicy, ServerState, SnapshotPolicy};
use openraft_rt::WatchReceiver;

use crate::engine::{Engine, Space};
use crate::error::{from_initialize, from_read, from_write, RaftError};
use crate::list::immediate_children;
use crate::network::UnreachableNetwork;
use crate::runtime::CofferRuntime;
use crate::store::restore::DATA_END;
use crate::store::{LogStore, StateMachine, Storage};
use crate::types::{ClusterNode, Command, SnapshotData, TypeConfig};

mod cluster;
mod restore;

pub use cluster::{ClusterMember, PeerHealth};

/// The openraft instance this crate runs.
pub type CofferRaft = Raft<TypeConfig, StateMachine>;

/// How often, and for how long, a shutdown waits for openraft's tasks to drop the storage.
const RELEASE_POLL: Duration = Duration::from_millis(5);
const RELEASE_WAIT_MAX: Duration = Duration::from_secs(10);

/// Raft settings for one node. Times are milliseconds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftConfig {
    /// This node's Raft id (stable across restarts).
    pub node_id: u64,
    /// Client-facing address advertised to peers.
    pub api_addr: String,
    /// Cluster address advertised to peers.
    pub cluster_addr: String,
    /// Leader heartbeat interval.
    pub heartbeat_ms: u64,
    /// Lower bound of the randomised election timeout.
    pub election_timeout_min_ms: u64,
    /// Upper bound of the randomised election timeout.
    pub election_timeout_max_ms: u64,
    /// Build a snapshot after this many applied entries since the last one (0: never).
    pub snapshot_threshold: u64,
    /// Entries kept in the log behind a snapshot, for slow followers.
    pub trailing_logs: u64,
    /// Deadline for sending a whole snapshot to a follower and having it installed.
    pub snapshot_timeout_ms: u64,
}

impl Default for RaftConfig {
    fn default() -> Self {
        RaftConfig {
            node_id: 1,
            api_addr: String::new(),
            cluster_addr: String::new(),
            heartbeat_ms: 100,
            // openraft starts an election only once the leader's lease (this upper bound) and
            // then a timeout drawn from the range have passed since the last heartbeat: a
            // failover takes 0.9–1.2 s, and a leader is deposed only after at least 900 ms of
            // silence (nine heartbeats missed).
            election_timeout_min_ms: 300,
            election_timeout_max_ms: 600,
            snapshot_threshold: 8192,
            trailing_logs: 1024,
            snapshot_timeout_ms: 60_000,
        }
    }
}

impl RaftConfig {
    fn to_openraft(&self) -> Result<openraft::Config, RaftError> {
        let snapshot_policy = match self.snapshot_threshold {
            0 => SnapshotPolicy::Never,
            n => SnapshotPolicy::LogsSinceLast(n),
        };
        let config = openraft::Config {
            cluster_name: "coffer".to_string(),
            heartbeat_interval: self.heartbeat_ms,
            election_timeout_min: self.election_timeout_min_ms,
            election_timeout_max: self.election_timeout_max_ms,
            snapshot_policy,
            max_in_snapshot_log_to_keep: self.trailing_logs,
            install_snapshot_timeout: self.snapshot_timeout_ms,
            // A restarted leader must win a new election. Restored as leader of its old term
            // (openraft's default), a leader that crashed before flushing entries it had
            // already replicated would write different entries at the same (term, index), and
            // followers holding the old ones would keep them: replicas diverge and an
            // acknowledged write can be lost (found by the simulation's slow-disk crashes).
            enable_leader_restore: Some(false),
            // A follower whose election timer fires asks first whether a quorum would vote for
            // it, without raising its term. One that restarted, or was cut off, finds the
            // others still hearing from their leader (their leader lease) and stays a follower
            // until the leader reaches it, instead of carrying a higher term back that would
            // depose a healthy leader. Leadership transfer and a dead leader's expired lease
            // are unaffected. The gRPC transport carries the PreVote RPC (`transport/`).
            enable_pre_vote: Some(true),
            ..Default::default()
        };
        config
            .validate()
            .map_err(|e| RaftError::Config(e.to_string()))
    }

    fn node(&self) -> ClusterNode {
        ClusterNode {
            api_addr: self.api_addr.clone(),
            cluster_addr: self.cluster_addr.clone(),
        }
    }
}

/// This node's part in the cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// Serves writes and linearizable reads.
    Leader,
    /// Replicates from a leader.
    Follower,
    /// Campaigning for leadership.
    Candidate,
    /// Replicates but does not vote.
    Learner,
    /// Stopped.
    Shutdown,
}

/// A snapshot of this node's Raft state.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaftStatus {
    /// This node's id.
    pub node_id: u64,
    /// Its role.
    pub role: Role,
    /// The current term.
    pub current_term: u64,
    /// The leader it knows of.
    pub leader_id: Option<u64>,
    /// Index of the last log entry.
    pub last_log_index: Option<u64>,
    /// Index of the last entry this node knows to be committed.
    pub committed_index: Option<u64>,
    /// Index of the last entry applied to the data.
    pub last_applied_index: Option<u64>,
    /// Voting members, ascending.
    pub voters: Vec<u64>,
    /// Index of the last entry covered by this node's latest snapshot.
    pub snapshot_index: Option<u64>,
    /// Index of the last entry purged from this node's log.
    pub purged_index: Option<u64>,
}

struct Inner {
    node_id: u64,
    node: ClusterNode,
    raft: CofferRaft,
    engine: Arc<dyn Engine>,
    /// Cloned into every storage object given to openraft; see [`RaftHandle::shutdown`].
    storage_lease: Arc<()>,
    /// Apply times and leader changes, for the node's metrics.
    stats: Arc<crate::RaftStats>,
    /// The channels to peers, when started over gRPC ([`RaftHandle::start_cluster`]).
    channels: Option<Arc<crate::transport::PeerChannels>>,
    /// How long a quorum's ack keeps this node writable as leader (openraft's leader lease:
    /// the election timeout's upper bound).
    leader_lease: Duration,
}

/// A running Raft node. Cheap to clone; all clones drive the same node.
#[derive(Clone)]
pub struct RaftHandle {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for RaftHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftHandle")
            .field("node_id", &self.inner.node_id)
            .finish_non_exhaustive()
    }
}

impl RaftHandle {
    /// Start Raft on `engine` with no cluster transport (a single-node cluster; see
    /// [`RaftHandle::start_cluster`] for more).
    pub async fn start(
        config: RaftConfig,
        engine: Arc<dyn Engine>,
    ) -> Result<RaftHandle, RaftError> {
        Self::start_with_network(config, engine, UnreachableNetwork).await
    }

    /// Start Raft on `engine`, reaching peers through `network`. Recovers the log, vote and
    /// applied state from the engine (re-applying committed entries) before returning.
    pub async fn start_with_network<N>(
        config: RaftConfig,
        engine: Arc<dyn Engine>,
        network: N,
    ) -> Result<RaftHandle, RaftError>
    where
        N: RaftNetworkFactory<TypeConfig>,
        N::Network: NetSnapshot<TypeConfig, SnapshotData = SnapshotData>,
    {
        Self::start_inner(config, engine, network, None).await
    }

    async fn start_inner<N>(
        config: RaftConfig,
        engine: Arc<dyn Engine>,
        network: N,
        channels: Option<Arc<crate::transport::PeerChannels>>,
    ) -> Result<RaftHandle, RaftError>
    where
        N: RaftNetworkFactory<TypeConfig>,
        N::Network: NetSnapshot<TypeConfig, SnapshotData = SnapshotData>,
    {
        let raft_config = Arc::new(config.to_openraft()?);
        let storage_lease = Arc::new(());
        let storage = Storage::new(Arc::clone(&engine), Arc::clone(&storage_lease));
        let log_store = LogStore::new(storage.clone());
        let stats = Arc::new(crate::RaftStats::default());
        let state_machine = StateMachine::new(storage, stats.clone());
        let started = state_machine.started_flag();
        let raft = Raft::new(
            config.node_id,
            raft_config,
            network,
            log_store,
            state_machine,
        )
        .await?;
        started.store(true, std::sync::atomic::Ordering::Release);
        let inner = Inner {
            node_id: config.node_id,
            node: config.node(),
            raft,
            engine,
            storage_lease,
            stats: stats.clone(),
            channels,
            leader_lease: Duration::from_millis(config.election_timeout_max_ms),
        };
        tokio::spawn(stats.watch_leader(inner.raft.clone()));
        Ok(RaftHandle {
            inner: Arc::new(inner),
        })
    }

    /// Apply times and leader changes (install the apply observer with
    /// [`crate::RaftStats::observe_apply`]).
    pub fn stats(&self) -> &crate::RaftStats {
        &self.inner.stats
    }

    /// Make this node the single voter of a new cluster, unless it is already initialised
    /// (then this is a no-op).
    pub async fn bootstrap_single(&self) -> Result<(), RaftError> {
        if self.inner.raft.is_initialized().await? {
            return Ok(());
        }
        let members = BTreeMap::from([(self.inner.node_id, self.inner.node.clone())]);
        match self.inner.raft.initialize(members).await {
            Ok(()) => {
                tracing::info!(
                    node_id = self.inner.node_id,
                    "raft bootstrapped as a single-node cluster"
                );
                Ok(())
            }
            Err(e) => from_initialize(e),
        }
    }

    /// Wait until this node is the leader and its state machine has applied everything
    /// committed before, so local reads see every acknowledged write.
    pub async fn wait_leader(&self, timeout: Duration) -> Result<(), RaftError> {
        let id = self.inner.node_id;
        let is_leader = move |m: &openraft::RaftMetrics<TypeConfig>| {
            m.state == ServerState::Leader && m.current_leader == Some(id)
        };
        let leader_and_caught_up = async {
            let wait = self.inner.raft.wait(None);
            wait.metrics(is_leader, "become leader")
                .await
                .map_err(|_| RaftError::Stopped)?;
            self.ensure_linearizable().await
        };
        tokio::time::timeout(timeout, leader_and_caught_up)
            .await
            .map_err(|_| RaftError::Timeout)?
    }

    /// Replicate `cmd` and return once it is committed and applied here.
    pub async fn write(&self, cmd: Command) -> Result<(), RaftError> {
        self.await_quorum_ack().await;
        match self.inner.raft.client_write(cmd).await {
            Ok(reply) if reply.data.fenced_out => Err(RaftError::FencedOut),
            Ok(reply) if reply.data.restore_incomplete => Err(RaftError::RestoreIncomplete),
            Ok(_) => Ok(()),
            Err(e) => Err(self.not_initialized_or(from_write(e))),
        }
    }

    /// A leader whose last quorum ack is older than its lease refuses writes (openraft answers
    /// `LeaseExpired`), though it is still the leader and the next heartbeat round renews the
    /// lease. That happens after this node's runtime stalled (a CPU-bound request, a pause of
    /// the process): the acks could not be read meanwhile. Wait, at most one lease, for a
    /// fresh ack or for a change of role, so the write after a stall is not refused.
    async fn await_quorum_ack(&self) {
        let lease = self.inner.leader_lease;
        let writable = move |m: &openraft::RaftMetrics<TypeConfig>| {
            m.state != ServerState::Leader
                || m.membership_config.voter_ids().nth(1).is_none()
                || m.last_quorum_acked
                    .as_ref()
                    .is_some_and(|acked| acked.elapsed() < lease)
        };
        if writable(&self.inner.raft.metrics().borrow_watched()) {
            return;
        }
        let wait = self.inner.raft.wait(Some(lease));
        // Out of time or stopped: the write itself reports why it cannot go on.
        let _ = wait
            .metrics(writable, "a quorum ack within the lease")
            .await;
    }

    /// Commit an empty entry in the current term and wait until it is applied here: afterwards
    /// every entry committed by any earlier leader is applied on this node. A leader must do this
    /// before it first serves from its state: one that resumed leadership after a restart (same
    /// term, no new blank entry) may not know that its last entries were committed, so a read
    /// index alone could let it answer from a state machine that lacks acknowledged writes.
    pub async fn commit_noop(&self) -> Result<(), RaftError> {
        self.write(Command::Batch(Vec::new())).await
    }

    /// The value at `key` in this node's applied state (no leadership check; call
    /// [`RaftHandle::ensure_linearizable`] first for a linearizable read).
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, RaftError> {
        Ok(self.inner.engine.get(Space::Data, key.as_bytes())?)
    }

    /// Vault-style LIST of `prefix` in this node's applied state: immediate children, folders
    /// with a trailing `/`, sorted and deduplicated.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, RaftError> {
        // A non-empty UTF-8 prefix ends below `DATA_END`; the empty one must stop there.
        let pairs = match prefix {
            "" => self.inner.engine.scan(Space::Data, b"", Some(DATA_END))?,
            _ => self
                .inner
                .engine
                .scan_prefix(Space::Data, prefix.as_bytes())?,
        };
        let keys = pairs.iter().map(|(k, _)| String::from_utf8_lossy(k));
        Ok(immediate_children(prefix, keys))
    }

    /// Every pair of this node's applied data space, in key order, as storage paths and stored
    /// bytes (no leadership check; call [`RaftHandle::ensure_linearizable`] first). For a
    /// snapshot save.
    pub async fn export_data(&self) -> Result<Vec<(String, Vec<u8>)>, RaftError> {
        let pairs = self.inner.engine.scan(Space::Data, b"", Some(DATA_END))?;
        pairs
            .into_iter()
            .map(|(k, v)| match String::from_utf8(k) {
                Ok(k) => Ok((k, v)),
                Err(_) => Err(RaftError::Storage("a data key is not UTF-8".into())),
            })
            .collect()
    }

    /// Read index: confirm with a quorum that this node is still the leader, and wait until its
    /// state machine has applied up to the commit point. Reads after this are linearizable.
    pub async fn ensure_linearizable(&self) -> Result<(), RaftError> {
        match self
            .inner
            .raft
            .ensure_linearizable(ReadPolicy::ReadIndex)
            .await
        {
            Ok(_) => Ok(()),
            Err(e) => Err(self.not_initialized_or(from_read(e))),
        }
    }

    /// Whether this node currently believes it is the leader.
    pub fn is_leader(&self) -> bool {
        self.inner.raft.is_leader()
    }

    /// This node's id and its current term: what every request's log span carries, read without
    /// building a whole [`RaftStatus`].
    pub fn id_and_term(&self) -> (u64, u64) {
        let rx = self.inner.raft.metrics();
        let term = rx.borrow_watched().current_term;
        (self.inner.node_id, term)
    }

    /// This node's Raft state now.
    pub fn metrics(&self) -> RaftStatus {
        let rx = self.inner.raft.metrics();
        let m = rx.borrow_watched();
        RaftStatus {
            node_id: self.inner.node_id,
            role: role(m.state),
            current_term: m.current_term,
            leader_id: m.current_leader,
            last_log_index: m.last_log_index,
            committed_index: m.local_committed.as_ref().map(|id| id.index()),
            last_applied_index: m.last_applied.as_ref().map(|id| id.index()),
            voters: m.membership_config.voter_ids().collect(),
            snapshot_index: m.snapshot.as_ref().map(|id| id.index()),
            purged_index: m.purged.as_ref().map(|id| id.index()),
        }
    }

    /// Make every write so far durable, the state machine's unsynced applies and the committed
    /// index included. A node restarted after this reads the state it had applied, which
    /// matters while it is sealed: it cannot hear the commit index from the leader, so the
    /// seal records it unseals with are whatever it applied before it stopped.
    pub async fn sync(&self) -> Result<(), RaftError> {
        use openraft::AsyncRuntime as _;
        crate::store::disk_wait(self.inner.engine.as_ref()).await;
        let engine = Arc::clone(&self.inner.engine);
        let done = CofferRuntime::spawn_blocking(move || engine.sync())
            .await
            .map_err(|e| RaftError::Fatal(e.to_string()))?;
        Ok(done?)
    }

    /// Stop Raft and wait until openraft's tasks have released the storage (so the same
    /// RocksDB directory can be reopened). Idempotent.
    pub async fn shutdown(&self) -> Result<(), RaftError> {
        self.inner
            .raft
            .shutdown()
            .await
            .map_err(|e| RaftError::Fatal(e.to_string()))?;
        let mut waited = Duration::ZERO;
        while Arc::strong_count(&self.inner.storage_lease) > 1 {
            if waited >= RELEASE_WAIT_MAX {
                return Err(RaftError::Timeout);
            }
            tokio::time::sleep(RELEASE_POLL).await;
            waited += RELEASE_POLL;
        }
        Ok(())
    }

    /// A `ForwardToLeader` with no leader on a node without members means "not initialised".
    fn not_initialized_or(&self, err: RaftError) -> RaftError {
        let unknown_leader = matches!(
            err,
            RaftError::ForwardToLeader {
                leader_id: None,
                ..
            }
        );
        if unknown_leader && self.metrics().voters.is_empty() {
            return RaftError::NotInitialized;
        }
        err
    }
}

fn role(state: ServerState) -> Role {
    match state {
        ServerState::Leader => Role::Leader,
        ServerState::Follower => Role::Follower,
        ServerState::Candidate => Role::Candidate,
        ServerState::Learner => Role::Learner,
        ServerState::Shutdown => Role::Shutdown,
    }
}

#[cfg(test)]
mod tests;
