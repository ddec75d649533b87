//! The cluster side of [`RaftHandle`]: starting over the gRPC transport, the service peers call,
//! membership changes, leadership hand-over and manual triggers.
//!
//! Membership changes go through the leader (elsewhere they fail with `ForwardToLeader`) and
//! return once the change is committed. Voters are added as learners first and promoted only
//! when they have caught up, so a slow joiner never counts towards a quorum it cannot serve.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use openraft::ChangeMembers;
use openraft_rt::WatchReceiver;

use super::RaftHandle;
use crate::engine::Engine;
use crate::error::{from_write, RaftError};
use crate::node::RaftConfig;
use crate::transport::{ClientTls, GrpcNetwork, PeerChannels, RaftGrpcServer, RaftGrpcService};
use crate::types::ClusterNode;

/// What the leader knows of one follower's replication (autopilot's view).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerHealth {
    /// The follower's Raft id.
    pub node_id: u64,
    /// The last log index known to be on that node.
    pub matched_index: Option<u64>,
    /// Milliseconds since it last acknowledged a heartbeat; `None` if it never did.
    pub since_last_ack_ms: Option<u64>,
}

/// One member of the cluster as this node sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterMember {
    /// Its Raft id.
    pub node_id: u64,
    /// Where it is reached.
    pub node: ClusterNode,
    /// Whether it votes (otherwise it is a learner, Vault's non-voter).
    pub voter: bool,
}

impl RaftHandle {
    /// Start Raft on `engine`, reaching peers over gRPC at their `cluster_addr` with mutual
    /// `tls` (not applied under madsim). Serve [`RaftHandle::grpc_service`] on this node's
    /// `cluster_addr` so peers can reach it.
    pub async fn start_cluster(
        config: RaftConfig,
        engine: Arc<dyn Engine>,
        tls: Option<ClientTls>,
    ) -> Result<RaftHandle, RaftError> {
        let channels = Arc::new(PeerChannels::new(tls));
        let network = GrpcNetwork::new(config.node_id, channels.clone());
        Self::start_inner(config, engine, network, Some(channels)).await
    }

    /// Dial peers with `tls` from now on (a node learns its cluster TLS at unseal or join,
    /// after Raft has started). A no-op for a node started without the gRPC transport.
    pub fn set_client_tls(&self, tls: ClientTls) {
        if let Some(channels) = &self.inner.channels {
            channels.set_tls(tls);
        }
    }

    /// The Raft RPC service peers call, for the node's cluster server.
    pub fn grpc_service(&self) -> RaftGrpcServer {
        RaftGrpcService::new(self.inner.raft.clone()).into_server()
    }

    /// Add `node_id` as a learner (Vault's non-voter): it replicates but never votes. Returns
    /// once the membership change is committed, without waiting for it to catch up.
    pub async fn add_learner(&self, node_id: u64, node: ClusterNode) -> Result<(), RaftError> {
        let added = self.inner.raft.add_learner(node_id, node, false).await;
        added
            .map(|_| ())
            .map_err(|e| self.not_initialized_or(from_write(e)))
    }

    /// Add `node_id` as a voter: as a learner first, then, once it has caught up (waiting at
    /// most `catch_up`, else `Timeout` and it stays a learner), promoted. A no-op for a voter.
    pub async fn add_voter(
        &self,
        node_id: u64,
        node: ClusterNode,
        catch_up: Duration,
    ) -> Result<(), RaftError> {
        if self.member(node_id).is_some_and(|m| m.voter) {
            return Ok(());
        }
        let added = self.inner.raft.add_learner(node_id, node, false).await;
        let added = added.map_err(|e| self.not_initialized_or(from_write(e)))?;
        // openraft's blocking `add_learner` counts a learner within `replication_lag_threshold`
        // (5000) entries as caught up, even one never reached: a small store's joiner would
        // become a voter it cannot serve. Wait until it holds the entry that added it.
        let target = added.log_id.index();
        let caught_up = move |m: &openraft::RaftMetrics<crate::types::TypeConfig>| {
            let matched = m.replication.as_ref().and_then(|r| r.get(&node_id));
            let holds_target =
                matched.is_some_and(|l| l.as_ref().is_some_and(|l| l.index() >= target));
            holds_target || m.state != openraft::ServerState::Leader
        };
        let wait = self.inner.raft.wait(Some(catch_up));
        wait.metrics(caught_up, "the new learner holds the entry that added it")
            .await
            .map_err(|_| RaftError::Timeout)?;
        // No longer the leader: the membership change below answers `ForwardToLeader`.
        self.change_members(ChangeMembers::AddVoterIds(BTreeSet::from([node_id])))
            .await
    }

    /// Make `voters` the voting members; voters left out are removed from the cluster. Every
    /// new voter must already be a member (a learner).
    pub async fn change_voters(&self, voters: BTreeSet<u64>) -> Result<(), RaftError> {
        self.change_members(ChangeMembers::ReplaceAllVoters(voters))
            .await
    }

    /// Remove `node_id` from the cluster, voter or learner. Removing a non-member is a no-op.
    /// A leader that removes itself steps down once the change is committed.
    pub async fn remove_node(&self, node_id: u64) -> Result<(), RaftError> {
        let ids = BTreeSet::from([node_id]);
        match self.member(node_id) {
            None => Ok(()),
            Some(m) if m.voter => self.change_members(ChangeMembers::RemoveVoters(ids)).await,
            Some(_) => self.change_members(ChangeMembers::RemoveNodes(ids)).await,
        }
    }

    /// Every member this node knows of (voters of a joint configuration included), by id.
    pub fn membership(&self) -> Vec<ClusterMember> {
        let rx = self.inner.raft.metrics();
        let metrics = rx.borrow_watched();
        let config = &metrics.membership_config;
        let voters: BTreeSet<u64> = config.voter_ids().collect();
        config
            .nodes()
            .map(|(id, node)| ClusterMember {
                node_id: *id,
                node: node.clone(),
                voter: voters.contains(id),
            })
            .collect()
    }

    /// Whether this node belonged to a configuration that no longer lists it (false while
    /// there is no configuration yet). Checked on every request, so it allocates nothing.
    pub fn is_removed(&self) -> bool {
        let rx = self.inner.raft.metrics();
        let metrics = rx.borrow_watched();
        let config = &metrics.membership_config;
        let mut nodes = config.nodes().map(|(id, _)| *id).peekable();
        nodes.peek().is_some() && !nodes.any(|id| id == self.inner.node_id)
    }

    /// Replication progress and last contact of every follower, as the leader sees them; empty on
    /// a follower.
    pub fn peer_health(&self) -> Vec<PeerHealth> {
        use openraft_rt::Instant as _;
        let rx = self.inner.raft.metrics();
        let metrics = rx.borrow_watched();
        let (Some(replication), heartbeat) = (&metrics.replication, &metrics.heartbeat) else {
            return Vec::new();
        };
        replication
            .iter()
            .map(|(id, matched)| PeerHealth {
                node_id: *id,
                matched_index: matched.as_ref().map(|l| l.index()),
                since_last_ack_ms: heartbeat
                    .as_ref()
                    .and_then(|h| h.get(id).cloned().flatten())
                    .map(|at| at.elapsed().as_millis() as u64),
            })
            .collect()
    }

    /// The leader this node knows of, with its addresses.
    pub fn leader(&self) -> Option<(u64, ClusterNode)> {
        let leader_id = self.metrics().leader_id?;
        let member = self.member(leader_id)?;
        Some((leader_id, member.node))
    }

    /// Hand leadership to voter `to`. Only the leader can; returns once the hand-over has been
    /// started (watch [`RaftHandle::leader`] for it to happen).
    pub async fn transfer_leadership(&self, to: u64) -> Result<(), RaftError> {
        self.ensure_leader()?;
        if !self.member(to).is_some_and(|m| m.voter) {
            return Err(RaftError::Rejected(format!("node {to} is not a voter")));
        }
        Ok(self.inner.raft.trigger().transfer_leader(to).await?)
    }

    /// Step down: hand leadership to the voter whose log is most up to date. Returns its id.
    pub async fn step_down(&self) -> Result<u64, RaftError> {
        self.ensure_leader()?;
        let target = self.most_caught_up_voter().ok_or_else(|| {
            RaftError::Rejected("no other voter to hand leadership to".to_string())
        })?;
        self.transfer_leadership(target).await?;
        Ok(target)
    }

    /// Step down (see [`RaftHandle::step_down`]) and wait, at most `timeout`, until this node
    /// knows another node as the leader. Returns the new leader's id; `Timeout` if none took
    /// over in time (the target may still win later).
    pub async fn hand_over(&self, timeout: Duration) -> Result<u64, RaftError> {
        self.step_down().await?;
        let me = self.inner.node_id;
        let led_by_another = move |m: &openraft::RaftMetrics<crate::types::TypeConfig>| {
            m.current_leader.is_some_and(|leader| leader != me)
        };
        let waited = self.inner.raft.wait(Some(timeout));
        match waited.metrics(led_by_another, "another leader").await {
            Ok(m) => m.current_leader.ok_or(RaftError::Timeout),
            Err(openraft::metrics::WaitError::Timeout(..)) => Err(RaftError::Timeout),
            Err(openraft::metrics::WaitError::ShuttingDown) => Err(RaftError::Stopped),
        }
    }

    /// Start an election on this node now, without waiting for the election timeout.
    pub async fn trigger_election(&self) -> Result<(), RaftError> {
        Ok(self.inner.raft.trigger().elect(false).await?)
    }

    /// Build a snapshot of the applied state now (in the background) and purge the log behind
    /// it as the configuration allows.
    pub async fn trigger_snapshot(&self) -> Result<(), RaftError> {
        Ok(self.inner.raft.trigger().snapshot().await?)
    }

    fn member(&self, node_id: u64) -> Option<ClusterMember> {
        self.membership().into_iter().find(|m| m.node_id == node_id)
    }

    fn ensure_leader(&self) -> Result<(), RaftError> {
        if self.is_leader() {
            return Ok(());
        }
        let leader = self.leader();
        Err(RaftError::ForwardToLeader {
            leader_id: leader.as_ref().map(|(id, _)| *id),
            leader_addr: leader.map(|(_, node)| node.api_addr),
        })
    }

    /// The other voter with the highest replicated log id, per the leader's metrics.
    fn most_caught_up_voter(&self) -> Option<u64> {
        let me = self.inner.node_id;
        let rx = self.inner.raft.metrics();
        let metrics = rx.borrow_watched();
        let replication = metrics.replication.as_ref()?;
        let voters: BTreeSet<u64> = metrics.membership_config.voter_ids().collect();
        replication
            .iter()
            .filter(|(id, _)| **id != me && voters.contains(id))
            .max_by_key(|(id, matched)| {
                (matched.as_ref().map(|l| l.index()), std::cmp::Reverse(**id))
            })
            .map(|(id, _)| *id)
    }

    async fn change_members(
        &self,
        change: ChangeMembers<u64, ClusterNode>,
    ) -> Result<(), RaftError> {
        let changed = self.inner.raft.change_membership(change, false).await;
        changed
            .map(|_| ())
            .map_err(|e| self.not_initialized_or(from_write(e)))
    }
}
