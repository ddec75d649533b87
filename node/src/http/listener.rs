//! TCP listeners, plain or TLS (rustls with the ring provider). Each connection is served by
//! hyper's HTTP/1 with the axum app (`conn.rs`). Under simulation the sockets are madsim's and
//! only plain listeners exist (the simulated network has no TLS): simulated clients reach a node
//! through it.
//!
//! A listener serves at most `max_connections` connections at once (it stops accepting while
//! full), gives a TLS handshake `http_read_header_timeout` to finish (Go's server, and so Vault,
//! bounds it by the same timeout), and tags each request with its body limits.

use super::body::BodyLimits;
use super::conn::{self, Timeouts};
use crate::config::ListenerConfig;
use hyper_util::service::TowerToHyperService;
use std::net::SocketAddr;
use std::sync::Arc;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
#[cfg(not(madsim))]
use tokio_rustls::TlsAcceptor;
/// No TLS under simulation: a TLS listener cannot be configured, so no acceptor ever exists.
#[cfg(madsim)]
type TlsAcceptor = std::convert::Infallible;
use tower::ServiceExt;

/// Why a listener could not start.
#[derive(Debug, thiserror::Error)]
pub enum ListenerError {
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: String,
        source: std::io::Error,
    },
    #[error("TLS setup for {addr}: {reason}")]
    Tls { addr: String, reason: String },
}

/// A running listener.
pub struct Listener {
    pub local_addr: SocketAddr,
    pub tls: bool,
    task: JoinHandle<()>,
    /// Turned true by [`Listener::close`]; every connection watches it.
    closing: tokio::sync::watch::Sender<bool>,
}

impl Listener {
    /// Stop accepting connections (the socket closes: new clients are refused) and have every
    /// open connection finish the request it serves and end (idle ones end at once).
    pub fn close(&self) {
        self.task.abort();
        self.closing.send_replace(true);
    }
}

impl Drop for Listener {
    fn drop(&mut self) {
        self.task.abort();
    }
}

fn tls_error(cfg: &ListenerConfig, reason: impl std::fmt::Display) -> ListenerError {
    ListenerError::Tls {
        addr: cfg.address.clone(),
        reason: reason.to_string(),
    }
}

#[cfg(not(madsim))]
fn load_pem(path: &str) -> Result<Vec<u8>, String> {
    std::fs::read(path).map_err(|e| format!("reading {path}: {e}"))
}

#[cfg(madsim)]
fn acceptor(cfg: &ListenerConfig) -> Result<TlsAcceptor, ListenerError> {
    Err(tls_error(cfg, "TLS listeners are not simulated"))
}

#[cfg(not(madsim))]
fn acceptor(cfg: &ListenerConfig) -> Result<TlsAcceptor, ListenerError> {
    Ok(TlsAcceptor::from(Arc::new(tls_config(cfg)?)))
}

/// The rustls server config of a TLS listener. Like Vault, a client certificate is only demanded
/// and verified when `tls_require_and_verify_client_cert` is set.
#[cfg(not(madsim))]
fn tls_config(cfg: &ListenerConfig) -> Result<rustls::ServerConfig, ListenerError> {
    let cert_file = cfg
        .tls_cert_file
        .as_deref()
        .ok_or_else(|| tls_error(cfg, "no tls_cert_file"))?;
    let key_file = cfg
        .tls_key_file
        .as_deref()
        .ok_or_else(|| tls_error(cfg, "no tls_key_file"))?;
    let cert_pem = load_pem(cert_file).map_err(|e| tls_error(cfg, e))?;
    let key_pem = load_pem(key_file).map_err(|e| tls_error(cfg, e))?;
    let certs: Vec<_> = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<_, _>>()
        .map_err(|e| tls_error(cfg, e))?;
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|e| tls_error(cfg, e))?
        .ok_or_else(|| tls_error(cfg, "no private key found"))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| tls_error(cfg, e))?;
    let builder = if cfg.tls_require_and_verify_client_cert {
        let ca_file = cfg.tls_client_ca_file.as_deref().ok_or_else(|| {
            tls_error(
                cfg,
                "tls_require_and_verify_client_cert needs tls_client_ca_file",
            )
        })?;
        let mut roots = rustls::RootCertStore::empty();
        for ca in rustls_pemfile::certs(&mut &load_pem(ca_file).map_err(|e| tls_error(cfg, e))?[..])
        {
            roots
                .add(ca.map_err(|e| tls_error(cfg, e))?)
                .map_err(|e| tls_error(cfg, e))?;
        }
        let verifier =
            rustls::server::WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| tls_error(cfg, e))?;
        builder.with_client_cert_verifier(verifier)
    } else {
        builder.with_no_client_auth()
    };
    let mut config = builder
        .with_single_cert(certs, key)
        .map_err(|e| tls_error(cfg, e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// Bind and start serving `app` on one listener.
pub async fn start(cfg: &ListenerConfig, app: axum::Router) -> Result<Listener, ListenerError> {
    let acceptor = if cfg.tls_disable {
        None
    } else {
        Some(acceptor(cfg)?)
    };
    let listener = TcpListener::bind(&cfg.address)
        .await
        .map_err(|source| ListenerError::Bind {
            addr: cfg.address.clone(),
            source,
        })?;
    let local_addr = listener
        .local_addr()
        .map_err(|source| ListenerError::Bind {
            addr: cfg.address.clone(),
            source,
        })?;
    let tls = acceptor.is_some();
    let closing = tokio::sync::watch::Sender::new(false);
    let task = tokio::spawn(accept_loop(
        listener,
        acceptor,
        app,
        cfg.clone(),
        closing.subscribe(),
    ));
    Ok(Listener {
        local_addr,
        tls,
        task,
        closing,
    })
}

async fn accept_loop(
    listener: TcpListener,
    acceptor: Option<TlsAcceptor>,
    app: axum::Router,
    cfg: ListenerConfig,
    closing: tokio::sync::watch::Receiver<bool>,
) {
    let limits = cfg.limits;
    let body_limits = BodyLimits {
        max_bytes: limits.max_request_size,
        read_timeout: limits.read_timeout,
    };
    let timeouts = Timeouts {
        header: limits.read_header_timeout,
        idle: limits.idle_timeout,
    };
    let slots = Arc::new(Semaphore::new(limits.max_connections));
    loop {
        // While every slot is taken, new clients wait in the kernel's accept queue.
        let Ok(slot) = slots.clone().acquire_owned().await else {
            return; // never closed
        };
        let (stream, peer) = match listener.accept().await {
            Ok(conn) => conn,
            Err(e) => {
                tracing::warn!(error = %e, "accept failed");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        let service = TowerToHyperService::new(app.clone().map_request(
            move |mut req: http::Request<hyper::body::Incoming>| {
                req.extensions_mut().insert(super::PeerAddr(peer));
                req.extensions_mut().insert(body_limits);
                req
            },
        ));
        #[cfg_attr(madsim, allow(clippy::clone_on_copy))]
        let acceptor = acceptor.clone();
        let closing = closing.clone();
        tokio::spawn(async move {
            let _slot = slot;
            match acceptor {
                None => conn::serve(stream, service, timeouts, closing).await,
                #[cfg(not(madsim))]
                Some(acceptor) => {
                    let handshake = acceptor.accept(stream);
                    let tls = if timeouts.header.is_zero() {
                        handshake.await
                    } else {
                        match tokio::time::timeout(timeouts.header, handshake).await {
                            Ok(done) => done,
                            Err(_) => {
                                tracing::debug!(%peer, "TLS handshake timed out");
                                return;
                            }
                        }
                    };
                    match tls {
                        Ok(tls) => conn::serve(tls, service, timeouts, closing).await,
                        Err(e) => tracing::debug!(error = %e, "TLS handshake failed"),
                    }
                }
                #[cfg(madsim)]
                Some(never) => match never {},
            }
        });
    }
}
