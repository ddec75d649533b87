//! [`GrpcNetwork`]: openraft's network factory over gRPC, and [`GrpcPeer`], the client for one
//! peer.
//!
//! Each peer gets one lazily connected, long-lived channel from [`PeerChannels`], looked up per
//! RPC and rebuilt only when the peer's address or the node's TLS changes; tonic reconnects it
//! after failures. Every RPC carries
//! openraft's deadline (`RPCOption::hard_ttl`, floored at `RPC_DEADLINE_MIN`) both as the gRPC
//! timeout the server sees and as a local timer, and every failure becomes the openraft error
//! that makes it back off.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use openraft::errors::{RPCError, ReplicationClosed, StreamingError, Unreachable};
use openraft::network::{RPCOption, RPCTypes, RaftNetworkFactory};
use openraft::raft::{
    AppendEntriesRequest, AppendEntriesResponse, SnapshotResponse, TransferLeaderRequest,
    TransferLeaderResponse, VoteRequest, VoteResponse,
};
use openraft::{OptionalSend, RaftNetworkV2};
use serde::de::DeserializeOwned;
use serde::Serialize;
use tonic::transport::Channel;

use super::channels::PeerChannels;
use super::proto::raft_service_client::RaftServiceClient;
use super::proto::{RaftRequest, SnapshotChunk};
use super::wire::{self, Call, SnapshotHeader};
use super::MESSAGE_SIZE_MAX_BYTES;
use crate::types::{ClusterNode, Snapshot, SnapshotData, TypeConfig, Vote};

/// Snapshot bytes per message when openraft does not say.
const SNAPSHOT_CHUNK_BYTES: usize = 1024 * 1024;

/// The shortest deadline an RPC gets. openraft gives appends one heartbeat interval (100 ms by
/// default), less than a cold TLS connect or a follower's fsync on a busy disk; below this floor
/// a slow but healthy follower could time out on every retry and never catch up.
const RPC_DEADLINE_MIN: Duration = Duration::from_millis(500);

type RpcError = RPCError<TypeConfig>;

/// openraft's network factory over gRPC; see the module docs.
#[derive(Debug, Clone)]
pub struct GrpcNetwork {
    local_id: u64,
    channels: Arc<PeerChannels>,
}

impl GrpcNetwork {
    /// The network of node `local_id`, dialing peers through `channels` (whose TLS the node
    /// may set later; TLS is not applied under madsim, whose simulated network has none).
    pub fn new(local_id: u64, channels: Arc<PeerChannels>) -> Self {
        GrpcNetwork { local_id, channels }
    }
}

impl RaftNetworkFactory<TypeConfig> for GrpcNetwork {
    type Network = GrpcPeer;

    async fn new_client(&mut self, target: u64, node: &ClusterNode) -> GrpcPeer {
        GrpcPeer {
            local_id: self.local_id,
            target,
            cluster_addr: node.cluster_addr.clone(),
            channels: self.channels.clone(),
        }
    }
}

/// The gRPC client for one peer; its channel is looked up in the shared [`PeerChannels`] at
/// every RPC.
#[derive(Debug)]
pub struct GrpcPeer {
    local_id: u64,
    target: u64,
    cluster_addr: String,
    channels: Arc<PeerChannels>,
}

/// The unary RPCs of `RaftService`.
#[derive(Debug, Clone, Copy)]
enum Unary {
    Vote,
    PreVote,
    AppendEntries,
    TransferLeader,
}

impl Unary {
    fn action(self) -> RPCTypes {
        match self {
            Unary::Vote | Unary::PreVote => RPCTypes::Vote,
            Unary::AppendEntries => RPCTypes::AppendEntries,
            Unary::TransferLeader => RPCTypes::TransferLeader,
        }
    }
}

impl GrpcPeer {
    fn call(&self, action: RPCTypes, option: &RPCOption) -> Call {
        Call {
            action,
            from: self.local_id,
            target: self.target,
            deadline: option.hard_ttl().max(RPC_DEADLINE_MIN),
        }
    }

    fn client(&self) -> Result<RaftServiceClient<Channel>, Unreachable<TypeConfig>> {
        let channel = self
            .channels
            .channel(self.target, &self.cluster_addr)
            .map_err(|e| Unreachable::new(&e))?;
        Ok(RaftServiceClient::new(channel)
            .max_decoding_message_size(MESSAGE_SIZE_MAX_BYTES)
            .max_encoding_message_size(MESSAGE_SIZE_MAX_BYTES))
    }

    /// Send `req` as the unary RPC `rpc` and decode the reply, within the deadline.
    async fn unary<Req, Resp>(
        &mut self,
        rpc: Unary,
        req: &Req,
        option: &RPCOption,
    ) -> Result<Resp, RpcError>
    where
        Req: Serialize,
        Resp: DeserializeOwned,
    {
        let call = self.call(rpc.action(), option);
        let network = |status: tonic::Status| wire::rpc_error(call, &status);
        let payload = wire::encode(req).map_err(network)?;
        let mut client = self.client()?;
        let mut request = tonic::Request::new(RaftRequest { payload });
        request.set_timeout(call.deadline);
        let sent = async move {
            match rpc {
                Unary::Vote => client.vote(request).await,
                Unary::PreVote => client.pre_vote(request).await,
                Unary::AppendEntries => client.append_entries(request).await,
                Unary::TransferLeader => client.transfer_leader(request).await,
            }
        };
        let reply = within(call, sent).await?.map_err(network)?;
        wire::decode(&reply.into_inner().payload).map_err(network)
    }

    /// Send `snapshot` as a stream of chunks: the header first, then the bytes in order.
    async fn send_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        option: &RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, RpcError> {
        let call = self.call(RPCTypes::InstallSnapshot, option);
        let network = |status: tonic::Status| wire::rpc_error(call, &status);
        let chunk_size = option
            .snapshot_chunk_size()
            .unwrap_or(SNAPSHOT_CHUNK_BYTES)
            .clamp(1, MESSAGE_SIZE_MAX_BYTES / 2);
        let chunks = snapshot_chunks(vote, snapshot, chunk_size).map_err(network)?;
        let mut client = self.client()?;
        let mut request = tonic::Request::new(futures::stream::iter(chunks));
        request.set_timeout(call.deadline);
        let sent = async move { client.install_snapshot(request).await };
        let reply = within(call, sent).await?.map_err(network)?;
        wire::decode(&reply.into_inner().payload).map_err(network)
    }
}

/// `fut`, or openraft's timeout error once the deadline of `call` passes.
async fn within<T>(call: Call, fut: impl Future<Output = T>) -> Result<T, RpcError> {
    tokio::time::timeout(call.deadline, fut)
        .await
        .map_err(|_| RPCError::Timeout(wire::timeout(call)))
}

/// The messages of one snapshot transfer. An empty snapshot is one header-only message.
fn snapshot_chunks(
    vote: Vote,
    snapshot: Snapshot,
    chunk_size: usize,
) -> Result<Vec<SnapshotChunk>, tonic::Status> {
    let header = wire::encode(&SnapshotHeader {
        vote,
        meta: snapshot.meta,
    })?;
    let data: SnapshotData = snapshot.snapshot;
    let mut chunks: Vec<SnapshotChunk> = data
        .chunks(chunk_size)
        .map(|piece| SnapshotChunk {
            header: Vec::new(),
            data: piece.to_vec(),
        })
        .collect();
    match chunks.first_mut() {
        Some(first) => first.header = header,
        None => chunks.push(SnapshotChunk {
            header,
            data: Vec::new(),
        }),
    }
    Ok(chunks)
}

fn streaming(e: RpcError) -> StreamingError<TypeConfig> {
    match e {
        RPCError::Timeout(t) => StreamingError::Timeout(t),
        RPCError::Unreachable(u) => StreamingError::Unreachable(u),
        RPCError::Network(n) => StreamingError::Network(n),
        RPCError::RemoteError(r) => {
            StreamingError::Network(openraft::errors::NetworkError::new(&r))
        }
    }
}

impl RaftNetworkV2<TypeConfig> for GrpcPeer {
    type SnapshotData = SnapshotData;

    async fn append_entries(
        &mut self,
        rpc: AppendEntriesRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<AppendEntriesResponse<TypeConfig>, RpcError> {
        self.unary(Unary::AppendEntries, &rpc, &option).await
    }

    async fn vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RpcError> {
        self.unary(Unary::Vote, &rpc, &option).await
    }

    async fn pre_vote(
        &mut self,
        rpc: VoteRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<VoteResponse<TypeConfig>, RpcError> {
        self.unary(Unary::PreVote, &rpc, &option).await
    }

    /// Sends the whole snapshot in one client-streaming call; gives up when openraft closes
    /// the replication (`cancel`) or the deadline passes.
    async fn full_snapshot(
        &mut self,
        vote: Vote,
        snapshot: Snapshot,
        cancel: impl Future<Output = ReplicationClosed> + OptionalSend + 'static,
        option: RPCOption,
    ) -> Result<SnapshotResponse<TypeConfig>, StreamingError<TypeConfig>> {
        tokio::select! {
            closed = cancel => Err(StreamingError::Closed(closed)),
            sent = self.send_snapshot(vote, snapshot, &option) => sent.map_err(streaming),
        }
    }

    async fn transfer_leader(
        &mut self,
        req: TransferLeaderRequest<TypeConfig>,
        option: RPCOption,
    ) -> Result<TransferLeaderResponse<TypeConfig>, RpcError> {
        self.unary(Unary::TransferLeader, &req, &option).await
    }
}
