//! The HTTP face of the pipeline: `/v1/*` → `Request` → `Core::handle` → Vault-shaped JSON.
//! Parsing lives in `parse.rs`, rendering in `render.rs`, sockets and TLS in `listener.rs`.

#[cfg(test)]
mod fuzz_tests;
pub mod listener;
mod parse;
mod render;

use crate::core::Core;
use axum::body::Bytes;
use axum::extract::State;
use axum::response::Response as HttpResponse;
use http::{HeaderMap, Method, Uri};
use std::sync::Arc;

pub use parse::parse_request;
pub use render::{envelope, render, render_error};

/// The largest request body a node accepts (a snapshot restore is the big one).
const MAX_REQUEST_BODY_BYTES: usize = 1 << 30;

/// The axum app serving Vault's API for one node.
pub fn app(core: Arc<Core>) -> axum::Router {
    axum::Router::new()
        .fallback(serve)
        .layer(axum::extract::DefaultBodyLimit::max(MAX_REQUEST_BODY_BYTES))
        .with_state(core)
}

/// The client's address, put on each request by the listener (and by the active node for a
/// request a standby forwarded); auth methods check CIDR bindings against it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PeerAddr(pub std::net::SocketAddr);

async fn serve(
    State(core): State<Arc<Core>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: http::Extensions,
    body: Bytes,
) -> HttpResponse {
    let peer = extensions.get::<PeerAddr>().map(|p| p.0);
    if let Some(forwarded) =
        crate::cluster::maybe_forward(&core, &method, &uri, &headers, &body, peer).await
    {
        return forwarded;
    }
    let is_head = method == Method::HEAD;
    let mut req = match parse_request(&method, &uri, &headers, &body) {
        Ok(req) => req,
        Err(e) => return render_error(&e),
    };
    req.remote_addr = peer.map(|p| p.to_string());
    let (node, term) = core
        .raft
        .as_ref()
        .map(|r| r.metrics())
        .map_or((0, 0), |m| (m.node_id, m.current_term));
    let span = tracing::info_span!("request", node, term, id = %req.id, path = %req.path, op = ?req.operation);
    let _enter = span.enter();
    let request_id = req.id.clone();
    let (operation, mount) = (req.operation.capability(), core.mount_label(&req.path));
    let started = tokio::time::Instant::now();
    let result = core.handle(req).await;
    let mut resp = match result {
        Ok(r) => render(&request_id, r),
        Err(e) => {
            // The error's message is ours (never a secret value); the request body is not logged.
            tracing::debug!(status = e.status().as_u16(), error = %e, "request failed");
            render_error(&e)
        }
    };
    core.metrics
        .observe_request(operation, &mount, resp.status().as_u16(), started.elapsed());
    if is_head {
        *resp.body_mut() = axum::body::Body::empty();
    }
    resp
}
