//! The outbound Raft network seam.
//!
//! [`UnreachableNetwork`] is the network of a single-node cluster: it has no peers to talk to,
//! so every RPC to any peer fails as `Unreachable` (openraft then backs off). A cluster uses
//! [`GrpcNetwork`](crate::GrpcNetwork) instead ([`RaftHandle::start_cluster`](crate::RaftHandle::start_cluster));
//! any other factory plugs in through
//! [`RaftHandle::start_with_network`](crate::RaftHandle::start_with_network).

use std::future::Future;

use openraft::errors::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, VoteRequest, VoteResponse,
};
use openraft::{OptionalSend, RaftNetworkV2};

use crate::types::{ClusterNode, Snapshot, SnapshotData, TypeConfig, Vote};

/// A network factory whose clients reach nobody.
#[derive(Debug, Clone, Copy, Default)]
pub struct UnreachableNetwork;

/// A client for one peer that is never reachable.
#[derive(Debug, Clone, Copy)]
pub struct UnreachablePeer {
    target: u64,
}

impl UnreachablePeer {
    fn unreachable(&self) -> Unreachable<TypeConfig> {
        Unreachable::from_string(format!(
            "node {}: no cluster transport in this build",
            self.target
        ))
    }
}

impl RaftNetworkFactory<TypeConfig> for UnreachableNetwork {
    type Network = UnreachablePeer;

    async fn new_client(&mut self, target: u64, _node: &ClusterNode) -> UnreachablePeer {
        UnreachablePeer { target }
    }
}

impl RaftNetworkV2<TypeConfig> for UnreachablePeer {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        _rpc: AppendEntriesRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(self.unreachable()))
    }

    async fn vote(
        &mut self,
        _rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(self.unreachable()))
    }

    /// Overridden: the default grants pre-votes unconditionally, which a peer nobody can reach
    /// must not do.
    async fn pre_vote(
        &mut self,
        _rpc: VoteRequest<TypeConfig>,
        _option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RPCError<TypeConfig>> {
        Err(RPCError::Unreachable(self.unreachable()))
    }

    async fn full_snapshot(
        &mut self,
        _vote: Vote,
        _snapshot: Snapshot,
        _cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        _option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        Err(StreamingError::Unreachable(self.unreachable()))
    }
}
