//! The cluster port: one gRPC server per node carrying the Raft RPCs (from `coffer-raft`) and
//! standby → active forwarding (`forward.rs`), behind mutual TLS with the cluster certificate
//! (`tls.rs`). It opens once the node knows that certificate — at unseal, or when it joins —
//! so a node that has never been unsealed answers nobody on it. (Under madsim the simulated
//! network has no TLS; the port opens at start, in plain.)
//!
//! A stopping node closes it last and gracefully ([`ClusterPort::close`]): every connection
//! gets a GOAWAY and the calls it already took are answered. A standby that still takes this
//! node for the active one may be forwarding to it until the moment it exits; cut off, such a
//! call could have run or not, and the client would get an error. Answered, it is "not
//! active" and the standby sends it on; refused after the GOAWAY, it never ran, and the
//! standby sends it on too (`forward::ForwardError::did_not_run`). Dropping the handle stops
//! accepting at once; the connections then wind down gracefully on their own (they run as
//! tasks of their own), so only the process's exit cuts a call off. Under madsim the
//! simulated server stops accepting on close but does not track its calls: `close` returns at
//! once there.

use super::forward::ForwardService;
use coffer_raft::{RaftHandle, ServerTls};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A running cluster port.
pub struct ClusterPort {
    pub local_addr: SocketAddr,
    task: JoinHandle<()>,
    /// Fired to stop accepting and send every connection a GOAWAY.
    stop: Option<oneshot::Sender<()>>,
}

impl ClusterPort {
    /// Stop accepting, send every connection a GOAWAY and wait, at most `wait`, for the calls
    /// already taken to be answered and the connections to close. Returns whether they all
    /// did; what is left after `wait` ends with the process.
    pub async fn close(mut self, wait: Duration) -> bool {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        match tokio::time::timeout(wait, &mut self.task).await {
            Ok(Ok(())) => true,
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "cluster port task failed while closing");
                false
            }
            Err(_) => false,
        }
    }
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
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            if let Err(e) = router.serve_with_incoming_shutdown(incoming, stopped).await {
                tracing::error!(error = %e, "cluster port stopped");
            }
        });
        Ok(ClusterPort {
            local_addr,
            task,
            stop: Some(stop),
        })
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
        let (stop, stopped) = oneshot::channel::<()>();
        let task = tokio::spawn(async move {
            let stopped = async {
                let _ = stopped.await;
            };
            if let Err(e) = router.serve_with_shutdown(local_addr, stopped).await {
                tracing::error!(error = %e, "cluster port stopped");
            }
        });
        Ok(ClusterPort {
            local_addr,
            task,
            stop: Some(stop),
        })
    }
}

#[cfg(all(test, not(madsim)))]
mod tests {
    use super::*;
    use crate::link::forward::Forwarder;
    use coffer_raft::{MemEngine, RaftConfig};
    use std::sync::Arc;
    use tokio::sync::Notify;

    /// An app whose one route tells `entered` it started, then answers once `release` fires.
    fn slow_app(entered: Arc<Notify>, release: Arc<Notify>) -> axum::Router {
        let route = move || {
            let (entered, release) = (entered.clone(), release.clone());
            async move {
                entered.notify_one();
                release.notified().await;
                "done"
            }
        };
        axum::Router::new().route("/v1/slow", axum::routing::post(route))
    }

    async fn forward(
        forwarder: &Forwarder,
        addr: &str,
    ) -> Result<http::Response<axum::body::Body>, crate::link::forward::ForwardError> {
        let uri: http::Uri = "/v1/slow".parse().unwrap();
        let headers = http::HeaderMap::new();
        forwarder
            .forward(addr, &http::Method::POST, &uri, &headers, vec![], None)
            .await
    }

    #[tokio::test]
    async fn a_closing_port_answers_the_calls_it_took_and_turns_new_ones_away_unrun() {
        let raft = RaftHandle::start(RaftConfig::default(), Arc::new(MemEngine::new()))
            .await
            .unwrap();
        let (entered, release) = (Arc::new(Notify::new()), Arc::new(Notify::new()));
        let app = slow_app(entered.clone(), release.clone());
        let port = start("127.0.0.1:0", &raft, app, None).await.unwrap();
        let local = port.local_addr;
        let addr = format!("http://{local}");
        let forwarder = Arc::new(Forwarder::new(None));

        // A standby's call is running on the node when it starts to close.
        let call = {
            let (forwarder, addr) = (forwarder.clone(), addr.clone());
            tokio::spawn(async move { forward(&forwarder, &addr).await })
        };
        entered.notified().await;
        let mut closing = tokio::spawn(port.close(Duration::from_secs(10)));
        // The process exits once the close returns: it must not return while the call runs.
        let early = tokio::time::timeout(Duration::from_millis(300), &mut closing).await;
        assert!(early.is_err(), "the port closed under a call it had taken");
        assert!(
            tokio::net::TcpStream::connect(local).await.is_err(),
            "a closing port accepts no connection"
        );
        release.notify_one();

        let answer = call.await.unwrap().expect("the call it took is answered");
        assert_eq!(answer.status(), http::StatusCode::OK);
        let body = http_body_util::BodyExt::collect(answer.into_body()).await;
        assert_eq!(body.unwrap().to_bytes(), "done");
        assert!(closing.await.unwrap(), "the port closed within the wait");

        // A call after the close never ran, and says so: the standby may send it on.
        let refused = forward(&forwarder, &addr).await.unwrap_err();
        assert!(refused.did_not_run(), "{refused}");
        raft.shutdown().await.unwrap();
    }
}
