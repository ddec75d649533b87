//! [`RaftGrpcService`]: the inbound Raft RPCs, each handed to the local openraft instance.
//!
//! The node mounts [`RaftHandle::grpc_service`](crate::RaftHandle::grpc_service) on its cluster
//! server next to its own services (forwarding); [`serve`] runs it alone (tests, tools).

use std::future::Future;
use std::net::SocketAddr;

use openraft::raft::{AppendEntriesRequest, TransferLeaderRequest, VoteRequest};
use serde::Serialize;
use tonic::{Request, Response, Status, Streaming};

use super::proto::raft_service_server::{RaftService, RaftServiceServer};
use super::proto::{RaftReply, RaftRequest, SnapshotChunk};
use super::tls::ServerTls;
use super::wire::{self, SnapshotHeader};
use super::{TransportError, MESSAGE_SIZE_MAX_BYTES};
use crate::node::{CofferRaft, RaftHandle};
use crate::types::{Snapshot, SnapshotData, TypeConfig};

/// The largest snapshot a follower accepts; the bytes are held in memory while they arrive.
pub const SNAPSHOT_SIZE_MAX_BYTES: usize = 2 * 1024 * 1024 * 1024;

/// The tonic service to mount on a cluster server.
#[cfg(not(madsim))]
pub type RaftGrpcServer = RaftServiceServer<RaftGrpcService>;
/// The tonic service to mount on a cluster server (the simulated stub names its interceptor).
#[cfg(madsim)]
pub type RaftGrpcServer = RaftServiceServer<RaftGrpcService, tonic::codegen::IdentityInterceptor>;

/// `RaftService` over the local openraft instance. Requests are decoded here and answered by
/// openraft; an instance that has stopped answers `UNAVAILABLE`.
#[derive(Clone)]
pub struct RaftGrpcService {
    raft: CofferRaft,
}

impl std::fmt::Debug for RaftGrpcService {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftGrpcService").finish_non_exhaustive()
    }
}

impl RaftGrpcService {
    pub(crate) fn new(raft: CofferRaft) -> Self {
        RaftGrpcService { raft }
    }

    /// The service wrapped for a tonic server, with Coffer's message size limits.
    pub fn into_server(self) -> RaftGrpcServer {
        RaftServiceServer::new(self)
            .max_decoding_message_size(MESSAGE_SIZE_MAX_BYTES)
            .max_encoding_message_size(MESSAGE_SIZE_MAX_BYTES)
    }
}

fn reply<T: Serialize>(value: &T) -> Result<Response<RaftReply>, Status> {
    Ok(Response::new(RaftReply {
        payload: wire::encode(value)?,
    }))
}

#[tonic::async_trait]
impl RaftService for RaftGrpcService {
    async fn vote(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let req: VoteRequest<TypeConfig> = wire::decode(&request.into_inner().payload)?;
        reply(&self.raft.vote(req).await.map_err(wire::stopped)?)
    }

    async fn pre_vote(&self, request: Request<RaftRequest>) -> Result<Response<RaftReply>, Status> {
        let req: VoteRequest<TypeConfig> = wire::decode(&request.into_inner().payload)?;
        reply(&self.raft.pre_vote(req).await.map_err(wire::stopped)?)
    }

    async fn append_entries(
        &self,
        request: Request<RaftRequest>,
    ) -> Result<Response<RaftReply>, Status> {
        let req: AppendEntriesRequest<TypeConfig> = wire::decode(&request.into_inner().payload)?;
        reply(&self.raft.append_entries(req).await.map_err(wire::stopped)?)
    }

    async fn install_snapshot(
        &self,
        request: Request<Streaming<SnapshotChunk>>,
    ) -> Result<Response<RaftReply>, Status> {
        let (header, data) = receive_snapshot(request.into_inner()).await?;
        let snapshot = Snapshot {
            meta: header.meta,
            snapshot: data,
        };
        let installed = self.raft.install_full_snapshot(header.vote, snapshot).await;
        reply(&installed.map_err(wire::stopped)?)
    }

    async fn transfer_leader(
        &self,
        request: Request<RaftRequest>,
    ) -> Result<Response<RaftReply>, Status> {
        let req: TransferLeaderRequest<TypeConfig> = wire::decode(&request.into_inner().payload)?;
        let handled = self.raft.handle_transfer_leader(req).await;
        reply(&handled.map_err(wire::stopped)?)
    }
}

/// Read a snapshot stream: a header in the first message, then the bytes in order.
async fn receive_snapshot(
    mut stream: Streaming<SnapshotChunk>,
) -> Result<(SnapshotHeader, SnapshotData), Status> {
    let first = stream
        .message()
        .await?
        .ok_or_else(|| Status::invalid_argument("snapshot: empty stream"))?;
    let header: SnapshotHeader = wire::decode(&first.header)?;
    let mut data = first.data;
    while let Some(chunk) = stream.message().await? {
        if !chunk.header.is_empty() {
            return Err(Status::invalid_argument(
                "snapshot: header after the first chunk",
            ));
        }
        if data.len().saturating_add(chunk.data.len()) > SNAPSHOT_SIZE_MAX_BYTES {
            return Err(Status::resource_exhausted(
                "snapshot: larger than the limit",
            ));
        }
        data.extend_from_slice(&chunk.data);
    }
    Ok((header, data))
}

/// Serve `handle`'s Raft RPCs, alone, on `addr` until `shutdown` completes. With `tls`, clients
/// must present a certificate signed by its client CA (outside simulation; under madsim TLS is
/// not applied). The node instead mounts [`RaftHandle::grpc_service`] on its own server.
pub async fn serve(
    handle: &RaftHandle,
    addr: SocketAddr,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TransportError> {
    #[cfg(not(madsim))]
    {
        let listener =
            tokio::net::TcpListener::bind(addr)
                .await
                .map_err(|e| TransportError::Bind {
                    addr: addr.to_string(),
                    reason: e.to_string(),
                })?;
        serve_listener(handle, listener, tls, shutdown).await
    }
    #[cfg(madsim)]
    {
        let _no_tls_in_simulation = tls;
        tonic::transport::Server::builder()
            .add_service(handle.grpc_service())
            .serve_with_shutdown(addr, shutdown)
            .await
            .map_err(|e| TransportError::Serve(e.to_string()))
    }
}

/// Accepted cluster connections with Nagle's algorithm off. tonic's `TcpIncoming::from` leaves
/// it on, and gRPC writes an answer as several small frames: the last one then waited for the
/// peer's delayed ACK, up to 40 ms, which was the Raft commit's 99th percentile.
#[cfg(not(madsim))]
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// [`serve`] on a listener that is already bound (so a test can learn an ephemeral port before
/// the node advertises it). Not in the simulated build, which has no such listener.
#[cfg(not(madsim))]
pub async fn serve_listener(
    handle: &RaftHandle,
    listener: tokio::net::TcpListener,
    tls: Option<ServerTls>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), TransportError> {
    use tonic::transport::Server;

    let mut builder = Server::builder();
    if let Some(tls) = tls {
        builder = builder
            .tls_config(tls.to_tonic())
            .map_err(|e| TransportError::Tls(e.to_string()))?;
    }
    builder
        .add_service(handle.grpc_service())
        .serve_with_incoming_shutdown(incoming(listener), shutdown)
        .await
        .map_err(|e| TransportError::Serve(e.to_string()))
}
