//! A small HTTP/1.1 JSON client for node-to-node API calls (join: challenge and answer), built on
//! hyper over the renamed `tokio::net`, so the same code runs over madsim's simulated network.
//! `https://` addresses use rustls with the leader's CA (outside simulation only).

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::time::Duration;

/// How long one call may take, connect included.
const CALL_TIMEOUT: Duration = Duration::from_secs(10);

/// Why a call failed.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("bad address {0:?}")]
    Address(String),
    #[error("{0}")]
    Io(String),
    #[error("timed out")]
    Timeout,
}

fn split(addr: &str) -> Result<(bool, String), CallError> {
    let (tls, rest) = if let Some(r) = addr.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = addr.strip_prefix("http://") {
        (false, r)
    } else {
        (false, addr)
    };
    let authority = rest.trim_end_matches('/');
    if authority.is_empty() || authority.contains('/') {
        return Err(CallError::Address(addr.to_string()));
    }
    Ok((tls, authority.to_string()))
}

/// POST `body` as JSON to `{addr}/v1/{path}`; returns the status and the JSON body (`Null` if
/// empty). `ca_pem` is the CA to trust for `https://`.
pub async fn post_json(
    addr: &str,
    path: &str,
    body: &Value,
    ca_pem: Option<&str>,
) -> Result<(u16, Value), CallError> {
    tokio::time::timeout(CALL_TIMEOUT, call(addr, path, body, ca_pem))
        .await
        .map_err(|_| CallError::Timeout)?
}

async fn call(
    addr: &str,
    path: &str,
    body: &Value,
    ca_pem: Option<&str>,
) -> Result<(u16, Value), CallError> {
    let (tls, authority) = split(addr)?;
    let request = hyper::Request::builder()
        .method("POST")
        .uri(format!("/v1/{path}"))
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .body(Full::new(Bytes::from(
            serde_json::to_vec(body).unwrap_or_default(),
        )))
        .map_err(|e| CallError::Io(format!("{addr}: {e}")))?;
    let (status, bytes) = exchange(tls, &authority, ca_pem, request).await?;
    let value = if bytes.is_empty() {
        Value::Null
    } else {
        serde_json::from_slice(&bytes).unwrap_or(Value::Null)
    };
    Ok((status, value))
}

/// Send one request to `authority` (`host:port`), over TLS trusting only `ca_pem` when `tls`;
/// returns the status and the whole body. No deadline of its own: callers put one around it.
pub(crate) async fn exchange(
    tls: bool,
    authority: &str,
    ca_pem: Option<&str>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<(u16, Bytes), CallError> {
    let io_err = |e: &dyn std::fmt::Display| CallError::Io(format!("{authority}: {e}"));
    let stream = tokio::net::TcpStream::connect(authority)
        .await
        .map_err(|e| io_err(&e))?;
    let response = if tls {
        send_tls(stream, authority, ca_pem, request).await?
    } else {
        send(TokioIo::new(stream), request).await?
    };
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| io_err(&e))?
        .to_bytes();
    Ok((status, bytes))
}

async fn send<IO>(
    io: IO,
    request: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, CallError>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| CallError::Io(e.to_string()))?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| CallError::Io(e.to_string()))
}

#[cfg(not(madsim))]
async fn send_tls(
    stream: tokio::net::TcpStream,
    authority: &str,
    ca_pem: Option<&str>,
    request: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, CallError> {
    use std::sync::Arc;
    let mut roots = rustls::RootCertStore::empty();
    let pem = ca_pem.ok_or_else(|| CallError::Io("https needs a CA certificate".into()))?;
    for cert in rustls_pemfile::certs(&mut pem.as_bytes()) {
        let cert = cert.map_err(|e| CallError::Io(e.to_string()))?;
        roots.add(cert).map_err(|e| CallError::Io(e.to_string()))?;
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| CallError::Io(e.to_string()))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let host = authority
        .rsplit_once(':')
        .map_or(authority, |(h, _)| h)
        .trim_matches(['[', ']']);
    let name = rustls::pki_types::ServerName::try_from(host.to_string())
        .map_err(|e| CallError::Address(e.to_string()))?;
    let tls = tokio_rustls::TlsConnector::from(Arc::new(config))
        .connect(name, stream)
        .await
        .map_err(|e| CallError::Io(e.to_string()))?;
    send(TokioIo::new(tls), request).await
}

#[cfg(madsim)]
async fn send_tls(
    _stream: tokio::net::TcpStream,
    _authority: &str,
    _ca_pem: Option<&str>,
    _request: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, CallError> {
    Err(CallError::Io(
        "TLS is not simulated; use http:// under madsim".into(),
    ))
}
