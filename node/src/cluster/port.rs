//! The cluster port: one gRPC server per node carrying the Raft RPCs (from `coffer-raft`) and
//! standby → active forwarding (`forward.rs`). Stopped when the returned handle drops.

use super::forward::ForwardService;
use coffer_raft::RaftHandle;
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

/// Bind `addr` and serve Raft and forwarding on it.
pub async fn start(
    addr: &str,
    raft: &RaftHandle,
    app: axum::Router,
) -> Result<ClusterPort, PortError> {
    let err = |reason: String| PortError {
        addr: addr.to_string(),
        reason,
    };
    let router = tonic::transport::Server::builder()
        .add_service(raft.grpc_service())
        .add_service(ForwardService::new(app).into_server());
    #[cfg(not(madsim))]
    {
        let listener = tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|e| err(e.to_string()))?;
        let local_addr = listener.local_addr().map_err(|e| err(e.to_string()))?;
        let incoming = tonic::transport::server::TcpIncoming::from(listener);
        let task = tokio::spawn(async move {
            if let Err(e) = router.serve_with_incoming(incoming).await {
                tracing::error!(error = %e, "cluster port stopped");
            }
        });
        Ok(ClusterPort { local_addr, task })
    }
    #[cfg(madsim)]
    {
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
