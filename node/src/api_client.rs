//! A small HTTP/1.1 JSON client for node-to-node API calls (join: challenge and answer) and the
//! Kubernetes TokenReview API, built on hyper over the renamed `tokio::net`, so the same code
//! runs over madsim's simulated network.
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

/// `authority` with the scheme's default port when it names none (`host` → `host:443`).
fn with_port(authority: &str, tls: bool) -> String {
    let has_port = match authority.rsplit_once(':') {
        Some((host, port)) => {
            port.chars().all(|c| c.is_ascii_digit()) && (!host.contains(':') || host.ends_with(']'))
        }
        None => false,
    };
    if has_port {
        authority.to_string()
    } else {
        format!("{authority}:{}", if tls { 443 } else { 80 })
    }
}

/// POST `body` as JSON to `{addr}/v1/{path}`; returns the status and the JSON body (`Null` if
/// empty). `ca_pem` is the CA to trust for `https://`.
pub async fn post_json(
    addr: &str,
    path: &str,
    body: &Value,
    ca_pem: Option<&str>,
) -> Result<(u16, Value), CallError> {
    let call = ApiCall {
        method: "POST",
        uri_path: &format!("/v1/{path}"),
        token: None,
        bearer: None,
        body: Some(body),
    };
    tokio::time::timeout(CALL_TIMEOUT, call_json(addr, call, ca_pem))
        .await
        .map_err(|_| CallError::Timeout)?
}

/// POST `body` as JSON to `{addr}{uri_path}` (`uri_path` starts with `/`), with `Authorization:
/// Bearer` when `bearer` is given; returns the status and the JSON body (`Null` if empty or not
/// JSON). `ca_pem` is the only CA trusted for `https://`. A missing port is the scheme's default.
pub async fn post_json_to(
    addr: &str,
    uri_path: &str,
    bearer: Option<&str>,
    body: &Value,
    ca_pem: Option<&str>,
) -> Result<(u16, Value), CallError> {
    let call = ApiCall {
        method: "POST",
        uri_path,
        token: None,
        bearer,
        body: Some(body),
    };
    tokio::time::timeout(CALL_TIMEOUT, call_json(addr, call, ca_pem))
        .await
        .map_err(|_| CallError::Timeout)?
}

/// One HTTP call with a JSON body: method, the URI path (`/v1/...`), Vault token
/// (`X-Vault-Token`) or bearer token (`Authorization`), body.
#[derive(Debug, Clone, Copy)]
pub struct ApiCall<'a> {
    pub method: &'a str,
    pub uri_path: &'a str,
    pub token: Option<&'a str>,
    pub bearer: Option<&'a str>,
    pub body: Option<&'a Value>,
}

/// Make `call` against `addr` (no deadline of its own: the caller sets one). Also what the
/// simulator's client hosts use to reach nodes over the simulated network.
pub async fn call_json(
    addr: &str,
    call: ApiCall<'_>,
    ca_pem: Option<&str>,
) -> Result<(u16, Value), CallError> {
    let (tls, authority) = split(addr)?;
    let mut request = hyper::Request::builder()
        .method(call.method)
        .uri(call.uri_path)
        .header(hyper::header::HOST, authority.as_str())
        .header(hyper::header::CONTENT_TYPE, "application/json")
        .header(hyper::header::ACCEPT, "application/json");
    if let Some(token) = call.token {
        request = request.header("X-Vault-Token", token);
    }
    if let Some(token) = call.bearer {
        request = request.header(hyper::header::AUTHORIZATION, format!("Bearer {token}"));
    }
    let body = call
        .body
        .map(|b| serde_json::to_vec(b).unwrap_or_default())
        .unwrap_or_default();
    let request = request
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| CallError::Io(format!("{addr}: {e}")))?;
    let (status, bytes) = exchange(tls, &with_port(&authority, tls), ca_pem, request).await?;
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
    let pem =
        ca_pem.ok_or_else(|| CallError::Io("https needs a CA certificate to trust".into()))?;
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_ports_follow_the_scheme() {
        assert_eq!(
            with_port("kubernetes.default.svc", true),
            "kubernetes.default.svc:443"
        );
        assert_eq!(with_port("10.0.0.1:6443", true), "10.0.0.1:6443");
        assert_eq!(with_port("[::1]:8200", false), "[::1]:8200");
        assert_eq!(with_port("[::1]", false), "[::1]:80");
        assert!(split("https://h:1/path").is_err());
        assert_eq!(split("https://h:1/").unwrap(), (true, "h:1".to_string()));
    }
}
