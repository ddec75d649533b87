//! The cluster port: one gRPC server per node carrying the Raft RPCs (from `coffer-raft`) and
//! standby → active forwarding (`forward.rs`), behind mutual TLS with the cluster certificate
//! (`tls.rs`). It opens once the node knows that certificate — at unseal, or when it joins —
//! so a node that has never been unsealed answers nobody on it. (Under madsim the simulated
//! network has no TLS; the port opens at start, in plain.) Stopped when the handle drops.

use super::forward::ForwardService;
use coffer_raft::{RaftHandle, ServerTls};
use std::net::SocketAddr;
use tokio::task::JoinHandle;

/// A running cluster port.
pub struct ClusterPort {
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
}

impl Drop for ClusterPort {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// Why the cluster port could not start.
#[derive(Debug, thiserror::Error)]
#[error("cluster port {addr}: {reason}")]
pub struct PortError {
    pub addr: String,
    pub reason: String,
}

/// Bind `addr` and serve Raft and forwarding on it, with mutual `tls` when given (never under
/// madsim).
pub async fn start(
    addr: &str,
    raft: &RaftHandle,
    app: axum::Router,
    tls: Option<ServerTls>,
) -> Result<ClusterPort, PortError> {
    let err = |reason: String| PortError {
        addr: addr.to_string(),
        reason,
    };
    #[cfg(not(madsim))]
    {
        let mut builder = tonic::transport::Server::builder();
        if let Some(tls) = &tls {
            builder = builder
                .tls_config(tls.to_tonic())
                .map_err(|e| err(e.to_string()))?;
        }
        let router = builder
            .add_service(raft.grpc_service())
            .add_service(ForwardService::new(app).into_server());
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| err(e.to_string()))?;
        let local_addr = listener.local_addr().map_err(|e| err(e.to_string()))?;
        let incoming = coffer_raft::transport::incoming(listener);
        let task = tokio::spawn(async move {
            if let Err(e) = router.serve_with_incoming(incoming).await {
                tracing::error!(error = %e, "cluster port stopped");
            }
        });
        Ok(ClusterPort { local_addr, task })
    }
    #[cfg(madsim)]
    {
        let _ = tls;
        let router = tonic::transport::Server::builder()
            .add_service(raft.grpc_service())
            .add_service(ForwardService::new(app).into_server());
        let local_addr: SocketAddr = addr
            .parse()
            .map_err(|e: std::net::AddrParseError| err(e.to_string()))?;
        let task = tokio::spawn(async move {
            if let Err(e) = router.serve(local_addr).await {
                tracing::error!(error = %e, "cluster port stopped");
            }
        });
        Ok(ClusterPort { local_addr, task })
    }
}
