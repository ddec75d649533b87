//! Opening the cluster port at unseal or join: the node dials its peers with the cluster
//! certificate and serves Raft and forwarding behind it (`link::port`).

use crate::core::Core;
use crate::error::ApiError;
use crate::link::port::start;
use crate::link::tls::ClusterTls;
use std::sync::Arc;

impl Core {
    /// Use the cluster certificate: dial members (Raft and forwarding) with it, and open the
    /// cluster port with it unless it is open already. Without Raft storage, nothing to do.
    pub(crate) async fn enable_cluster_tls(
        self: &Arc<Self>,
        tls: &ClusterTls,
    ) -> Result<(), ApiError> {
        let Some(raft) = &self.storage.raft else {
            return Ok(());
        };
        raft.set_client_tls(tls.client());
        self.link.forwarder.set_tls(tls.client());
        let mut port = self.link.port.lock().await;
        if port.is_some() {
            return Ok(());
        }
        let Some(addr) = self.config.cluster_bind_addr() else {
            return Ok(());
        };
        let Some(app) = self.link.app() else {
            return Err(ApiError::internal(
                "the cluster port has no app to serve yet",
            ));
        };
        let started = start(&addr, raft, app, Some(tls.server()))
            .await
            .map_err(|e| ApiError::Internal(e.to_string()))?;
        tracing::info!(address = %started.local_addr, "cluster port open (mutual TLS)");
        *port = Some(started);
        Ok(())
    }
}
