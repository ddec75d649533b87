//! The webhook's HTTPS server: `POST /mutate` answers an AdmissionReview (`review.rs`),
//! `GET /health/ready` says the server is up. axum over hyper's HTTP/1, rustls in front; at most
//! [`MAX_CONNECTIONS`] connections at once, each handshake and request head bounded in time.

use super::annotations::Defaults;
use super::review;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// Connections served at once; more wait in the kernel's accept queue.
const MAX_CONNECTIONS: usize = 256;
/// Time for the TLS handshake, and for a request's head.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest AdmissionReview accepted (the API server caps objects near 1.5 MiB).
const MAX_BODY_BYTES: usize = 8 * 1024 * 1024;

/// The router: `/mutate` and `/health/ready`.
pub fn app(defaults: Arc<Defaults>) -> axum::Router {
    axum::Router::new()
        .route("/mutate", post(mutate))
        .route("/health/ready", get(ready))
        .layer(DefaultBodyLimit::max(MAX_BODY_BYTES))
        .with_state(defaults)
}

async fn ready() -> StatusCode {
    StatusCode::NO_CONTENT
}

fn error(status: StatusCode, message: String) -> Response {
    (
        status,
        axum::Json(serde_json::json!({ "errors": [message] })),
    )
        .into_response()
}

async fn mutate(
    State(defaults): State<Arc<Defaults>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let content_type = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    if !content_type.starts_with("application/json") {
        return error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            format!("expected Content-Type application/json, got {content_type:?}"),
        );
    }
    match review::respond(&body, &defaults) {
        Ok(answer) => {
            let response = &answer["response"];
            tracing::info!(
                uid = response["uid"].as_str().unwrap_or_default(),
                allowed = response["allowed"].as_bool().unwrap_or_default(),
                patched = response.get("patch").is_some(),
                "admission review"
            );
            axum::Json(answer).into_response()
        }
        Err(e) => {
            tracing::warn!(error = %e, "refused a request that is not an AdmissionReview");
            error(StatusCode::BAD_REQUEST, e.to_string())
        }
    }
}

/// Serve `app` over TLS on `listener` until the task is dropped.
pub async fn serve(listener: TcpListener, tls: Arc<rustls::ServerConfig>, app: axum::Router) {
    let acceptor = TlsAcceptor::from(tls);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return; // the semaphore is never closed
        };
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let acceptor = acceptor.clone();
        let service = TowerToHyperService::new(app.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => tls,
                Ok(Err(e)) => return tracing::debug!(%peer, error = %e, "TLS handshake failed"),
                Err(_) => return tracing::debug!(%peer, "TLS handshake timed out"),
            };
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HANDSHAKE_TIMEOUT)
                .serve_connection(TokioIo::new(tls), service)
                .await;
            if let Err(e) = served {
                tracing::debug!(%peer, error = %e, "connection ended with an error");
            }
        });
    }
}
