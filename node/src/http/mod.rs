//! The HTTP face of the pipeline: `/v1/*` → `Request` → `Core::handle` → Vault-shaped JSON.
//! Parsing lives in `parse.rs`, rendering in `render.rs`, sockets and TLS in `listener.rs`,
//! per-connection timeouts in `conn.rs`, body limits in `body.rs`.

pub mod body;
mod conn;
#[cfg(test)]
mod fuzz_tests;
pub mod listener;
mod parse;
mod render;

use crate::cluster::Forward;
use crate::core::Core;
use axum::body::Body;
use axum::extract::State;
use axum::response::Response as HttpResponse;
use http::{HeaderMap, Method, Uri};
use std::sync::Arc;
use tracing::Instrument as _;

pub use parse::parse_request;
pub use render::{render, render_error};

/// The axum app serving Vault's API for one node. It reads bodies itself, within the
/// listener's [`body::BodyLimits`]. With `ui = true` it also serves the web UI (`crate::ui`).
pub fn app(core: Arc<Core>) -> axum::Router {
    let router = axum::Router::new();
    let router = if core.config.ui {
        crate::ui::routes(router)
    } else {
        router
    };
    router.fallback(serve).with_state(core)
}

pub use crate::request::PeerAddr;

/// The answer to a forwarded request that reached a node that is not active: 503, marked so
/// the standby that sent it knows it did not run (`link::forward::NOT_ACTIVE_HEADER`).
fn not_active() -> HttpResponse {
    let error = crate::error::ApiError::Unavailable("node is not the active node".into());
    let mut resp = render_error(&error);
    resp.headers_mut().insert(
        crate::link::forward::NOT_ACTIVE_HEADER,
        http::HeaderValue::from_static("1"),
    );
    resp
}

async fn serve(
    State(core): State<Arc<Core>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    extensions: http::Extensions,
    body: Body,
) -> HttpResponse {
    let peer = extensions.get::<PeerAddr>().map(|p| p.0);
    let limits = extensions.get::<body::BodyLimits>();
    let limit = body::limit_for(&method, &uri, limits);
    let read_timeout = limits.map_or(std::time::Duration::ZERO, |l| l.read_timeout);
    let body = match body::read(&headers, body, limit, read_timeout).await {
        Ok(body) => body,
        Err(e) => {
            // The rest of the body is unread: the connection cannot carry another request.
            let mut resp = render_error(&e);
            resp.headers_mut().insert(
                http::header::CONNECTION,
                http::HeaderValue::from_static("close"),
            );
            return resp;
        }
    };
    // Counted until the answer is built; held while a stopping active node hands over.
    let _in_flight = core
        .link
        .drain
        .admit(|| !crate::cluster::is_local(&uri))
        .await;
    match crate::cluster::maybe_forward(&core, &method, &uri, &headers, &body, peer).await {
        Forward::Local => {}
        Forward::Relayed(answer) => return answer,
        Forward::Refused(e) => return render_error(&e),
        Forward::NotActive => return not_active(),
    }
    let is_head = method == Method::HEAD;
    let mut req = match parse_request(&method, &uri, &headers, &body) {
        Ok(req) => req,
        Err(e) => return render_error(&e),
    };
    req.remote_addr = peer.map(|p| p.to_string());
    let (node, term) = core
        .storage
        .raft
        .as_ref()
        .map_or((0, 0), |r| r.id_and_term());
    let span = tracing::info_span!("request", node, term, id = %req.id, path = %req.path, op = ?req.operation);
    let request_id = req.id.clone();
    let operation = req.operation.capability();
    let started = tokio::time::Instant::now();
    let served = crate::wrap::serve(&core, req)
        .instrument(span.clone())
        .await;
    let crate::pipeline::Answer { mount, result } = served;
    let _enter = span.enter(); // for the line below; nothing awaits after it
    let mut resp = match result {
        Ok(r) => render(&request_id, r),
        Err(e) => {
            // The error's message is ours (never a secret value); the request body is not logged.
            tracing::debug!(status = e.status().as_u16(), error = %e, "request failed");
            render_error(&e)
        }
    };
    core.storage.metrics.observe_request(
        operation,
        &mount,
        resp.status().as_u16(),
        started.elapsed(),
    );
    if is_head {
        *resp.body_mut() = axum::body::Body::empty();
    }
    resp
}
