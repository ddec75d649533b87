//! Standby → active forwarding. A standby sends a client's request to the active node over one
//! long-lived gRPC channel per leader address (every call with a deadline); the active node runs
//! it through its own axum app and the standby relays the answer unchanged. A forwarded request
//! carries `x-coffer-forwarded`, and a node that is not active refuses it rather than forwarding
//! it again, so a request can never loop between nodes.
//!
//! Such a refusal carries [`NOT_ACTIVE_HEADER`]: the request did not run, and the standby
//! tries again on the node it now knows as the leader (`cluster::maybe_forward`). So does a
//! call the old active node never took: a refused connection (it has stopped), or a call its
//! closing port turned away with a GOAWAY or a refused stream (HTTP/2 guarantees the peer did
//! not process it, RFC 9113 §8.7), or one the client never got to send. Any other failure may
//! have happened after the request ran, and is not retried.

use axum::body::Body;
use http_body_util::BodyExt;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::time::Duration;
use tonic::transport::Channel;
use tower::ServiceExt;

/// Generated stubs.
pub mod pb {
    tonic::include_proto!("coffer.forward");
}

use pb::forwarding_client::ForwardingClient;
use pb::forwarding_server::{Forwarding, ForwardingServer};

/// The generated server type (the simulated stubs add an interceptor parameter).
#[cfg(not(madsim))]
pub type ForwardGrpcServer = ForwardingServer<ForwardService>;
/// The generated server type (the simulated stubs add an interceptor parameter).
#[cfg(madsim)]
pub type ForwardGrpcServer = ForwardingServer<ForwardService, tonic::codegen::IdentityInterceptor>;

/// Marks a request that already crossed one node.
pub const FORWARDED_HEADER: &str = "x-coffer-forwarded";
/// Marks an answer from a node that was asked to serve a forwarded request but is not the
/// active node (any more): the request did not run, and may be sent to the new leader.
pub const NOT_ACTIVE_HEADER: &str = "x-coffer-not-active";
/// The largest forwarded request or answer (a snapshot is the big one; tonic's default is 4 MiB).
const FORWARD_MESSAGE_MAX_BYTES: usize = 1 << 30;
/// How long a forwarded call may take end to end.
const FORWARD_DEADLINE: Duration = Duration::from_secs(30);
/// Headers that belong to one hop, not to the request.
const HOP_HEADERS: &[&str] = &[
    "connection",
    "keep-alive",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

/// Why a request could not be relayed.
#[derive(Debug, thiserror::Error)]
pub enum ForwardError {
    #[error("no active node is known")]
    NoLeader,
    #[error("cannot reach the active node at {addr}: {reason}")]
    Unreachable { addr: String, reason: String },
    #[error("the active node answered with an invalid response: {0}")]
    BadReply(String),
    #[error("{addr} is not the active node any more")]
    NotActive { addr: String },
    #[error("{addr} did not take the request: {reason}")]
    NotTaken { addr: String, reason: String },
}

impl ForwardError {
    /// Whether the request surely did not run, so it may be sent again to another leader.
    pub fn did_not_run(&self) -> bool {
        matches!(
            self,
            ForwardError::NotActive { .. } | ForwardError::NotTaken { .. }
        )
    }
}

/// Why a failed call surely never reached the peer's handler, if it did not: the cause chain
/// holds a refused TCP connection, an HTTP/2 GOAWAY or REFUSED_STREAM from the peer, or a
/// request the client dropped before sending it.
fn never_taken(status: &tonic::Status) -> Option<&'static str> {
    let mut cause: Option<&(dyn std::error::Error + 'static)> = std::error::Error::source(status);
    while let Some(e) = cause {
        if let Some(io) = e.downcast_ref::<std::io::Error>() {
            if io.kind() == std::io::ErrorKind::ConnectionRefused {
                return Some("connection refused");
            }
        }
        #[cfg(not(madsim))]
        if let Some(reason) = http2_not_processed(e) {
            return Some(reason);
        }
        cause = e.source();
    }
    None
}

/// The HTTP/2 causes that say the peer did not process the stream (RFC 9113 §6.8, §8.7).
#[cfg(not(madsim))]
fn http2_not_processed(e: &(dyn std::error::Error + 'static)) -> Option<&'static str> {
    if let Some(h2) = e.downcast_ref::<h2::Error>() {
        if h2.is_go_away() && h2.is_remote() {
            // h2 gives a remote GOAWAY only to streams above its last stream id and to streams
            // opened after it. hyper may also report one just after writing a stream's HEADERS
            // but before its body: safe only because a forward is a unary call, whose handler
            // runs once the request message (the body, never sent then) has arrived.
            return Some("the peer sent GOAWAY before taking it");
        }
        if h2.is_reset() && h2.is_remote() && h2.reason() == Some(h2::Reason::REFUSED_STREAM) {
            return Some("the peer refused the stream");
        }
    }
    if let Some(hyper) = e.downcast_ref::<hyper::Error>() {
        if hyper.is_canceled() {
            // hyper's "connection closed" / "not ready": the request was never written.
            return Some("the connection closed before it was sent");
        }
    }
    None
}

fn headers_out(map: &http::HeaderMap) -> Vec<pb::Header> {
    map.iter()
        .filter(|(name, _)| !HOP_HEADERS.contains(&name.as_str()))
        .filter_map(|(name, value)| {
            value.to_str().ok().map(|v| pb::Header {
                name: name.to_string(),
                value: v.to_string(),
            })
        })
        .collect()
}

/// Active side: the gRPC service that runs forwarded requests through the node's app.
#[derive(Clone)]
pub struct ForwardService {
    app: axum::Router,
}

impl ForwardService {
    /// Serve forwarded requests with `app` (the same app the listeners serve).
    pub fn new(app: axum::Router) -> Self {
        ForwardService { app }
    }

    /// The tonic service to add to the cluster port's server.
    pub fn into_server(self) -> ForwardGrpcServer {
        ForwardingServer::new(self)
            .max_decoding_message_size(FORWARD_MESSAGE_MAX_BYTES)
            .max_encoding_message_size(FORWARD_MESSAGE_MAX_BYTES)
    }
}

#[tonic::async_trait]
impl Forwarding for ForwardService {
    async fn forward(
        &self,
        request: tonic::Request<pb::HttpRequest>,
    ) -> Result<tonic::Response<pb::HttpReply>, tonic::Status> {
        let req = request.into_inner();
        let mut builder = http::Request::builder()
            .method(req.method.as_str())
            .uri(req.uri.as_str());
        for h in &req.headers {
            builder = builder.header(h.name.as_str(), h.value.as_str());
        }
        builder = builder.header(FORWARDED_HEADER, "1");
        let mut http_req = builder
            .body(Body::from(req.body))
            .map_err(|e| tonic::Status::invalid_argument(e.to_string()))?;
        // The client's address as the standby saw it (the cluster port is mutually
        // authenticated, so only a member can say this).
        if let Ok(peer) = req.remote_addr.parse::<std::net::SocketAddr>() {
            http_req
                .extensions_mut()
                .insert(crate::request::PeerAddr(peer));
        }
        let resp = match self.app.clone().oneshot(http_req).await {
            Ok(resp) => resp,
            Err(never) => match never {},
        };
        let status = u32::from(resp.status().as_u16());
        let headers = headers_out(resp.headers());
        let body = resp
            .into_body()
            .collect()
            .await
            .map_err(|e| tonic::Status::internal(e.to_string()))?
            .to_bytes()
            .to_vec();
        Ok(tonic::Response::new(pb::HttpReply {
            status,
            headers,
            body,
        }))
    }
}

/// Standby side: one lazily connected channel per active-node address.
#[derive(Default)]
pub struct Forwarder {
    clients: Mutex<HashMap<String, ForwardingClient<Channel>>>,
    tls: Mutex<Option<coffer_raft::ClientTls>>,
}

impl Forwarder {
    /// A forwarder that dials with mutual TLS when `tls` is given.
    pub fn new(tls: Option<coffer_raft::ClientTls>) -> Self {
        Forwarder {
            clients: Mutex::new(HashMap::new()),
            tls: Mutex::new(tls),
        }
    }

    /// Dial with `tls` from now on; open channels are dropped.
    pub fn set_tls(&self, tls: coffer_raft::ClientTls) {
        *self.tls.lock() = Some(tls);
        self.clients.lock().clear();
    }

    fn client(&self, cluster_addr: &str) -> Result<ForwardingClient<Channel>, ForwardError> {
        if let Some(c) = self.clients.lock().get(cluster_addr) {
            return Ok(c.clone());
        }
        let tls = self.tls.lock().clone();
        let channel =
            coffer_raft::transport::lazy_channel(cluster_addr, tls.as_ref()).map_err(|e| {
                ForwardError::Unreachable {
                    addr: cluster_addr.to_string(),
                    reason: e.to_string(),
                }
            })?;
        let client = ForwardingClient::new(channel)
            .max_decoding_message_size(FORWARD_MESSAGE_MAX_BYTES)
            .max_encoding_message_size(FORWARD_MESSAGE_MAX_BYTES);
        self.clients
            .lock()
            .insert(cluster_addr.to_string(), client.clone());
        Ok(client)
    }

    /// Relay one request to the active node at `cluster_addr` and return its answer.
    pub async fn forward(
        &self,
        cluster_addr: &str,
        method: &http::Method,
        uri: &http::Uri,
        headers: &http::HeaderMap,
        body: Vec<u8>,
        peer: Option<std::net::SocketAddr>,
    ) -> Result<http::Response<Body>, ForwardError> {
        let mut client = self.client(cluster_addr)?;
        let uri = uri
            .path_and_query()
            .map(|p| p.as_str())
            .unwrap_or("/")
            .to_string();
        let mut request = tonic::Request::new(pb::HttpRequest {
            method: method.to_string(),
            uri,
            headers: headers_out(headers),
            body,
            remote_addr: peer.map(|p| p.to_string()).unwrap_or_default(),
        });
        request.set_timeout(FORWARD_DEADLINE);
        let addr = cluster_addr.to_string();
        let reply = client.forward(request).await.map_err(|status| {
            if let Some(reason) = never_taken(&status) {
                ForwardError::NotTaken {
                    addr: addr.clone(),
                    reason: reason.to_string(),
                }
            } else {
                ForwardError::Unreachable {
                    addr: addr.clone(),
                    reason: status.message().to_string(),
                }
            }
        })?;
        let reply = reply.into_inner();
        if reply.headers.iter().any(|h| h.name == NOT_ACTIVE_HEADER) {
            return Err(ForwardError::NotActive { addr });
        }
        let status =
            u16::try_from(reply.status).map_err(|e| ForwardError::BadReply(e.to_string()))?;
        let mut builder = http::Response::builder().status(status);
        for h in reply.headers {
            builder = builder.header(h.name, h.value);
        }
        builder
            .body(Body::from(reply.body))
            .map_err(|e| ForwardError::BadReply(e.to_string()))
    }
}
