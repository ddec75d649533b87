//! One HTTP/1.1 exchange with one Coffer address (plain or TLS), no deadline of its own.

use super::Address;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use std::sync::Arc;

/// What to send.
pub(super) struct Request<'a> {
    pub method: &'a str,
    pub path: &'a str,
    pub token: Option<&'a str>,
    pub body: Option<&'a Value>,
}

/// Send `request` to `address`; the status and the JSON body (`Null` when empty or not JSON).
pub(super) async fn send(
    address: &Address,
    tls: Option<&Arc<rustls::ClientConfig>>,
    request: Request<'_>,
) -> Result<(u16, Value), String> {
    let mut builder = hyper::Request::builder()
        .method(request.method)
        .uri(format!("/v1/{}", request.path.trim_start_matches('/')))
        .header(hyper::header::HOST, address.authority.as_str())
        .header(hyper::header::ACCEPT, "application/json");
    if let Some(token) = request.token {
        builder = builder.header("X-Vault-Token", token);
    }
    let body = match request.body {
        Some(v) => {
            builder = builder.header(hyper::header::CONTENT_TYPE, "application/json");
            serde_json::to_vec(v).map_err(|e| e.to_string())?
        }
        None => Vec::new(),
    };
    let http_request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let stream = tokio::net::TcpStream::connect(address.authority.as_str())
        .await
        .map_err(|e| e.to_string())?;
    let _ = stream.set_nodelay(true);
    let response = if address.tls {
        let config = tls.ok_or("https address without a TLS configuration")?;
        let host = address
            .authority
            .rsplit_once(':')
            .map_or(address.authority.as_str(), |(h, _)| h)
            .trim_matches(['[', ']']);
        let name =
            rustls::pki_types::ServerName::try_from(host.to_string()).map_err(|e| e.to_string())?;
        let stream = tokio_rustls::TlsConnector::from(config.clone())
            .connect(name, stream)
            .await
            .map_err(|e| e.to_string())?;
        exchange(TokioIo::new(stream), http_request).await?
    } else {
        exchange(TokioIo::new(stream), http_request).await?
    };
    let status = response.status().as_u16();
    let bytes = response
        .into_body()
        .collect()
        .await
        .map_err(|e| e.to_string())?
        .to_bytes();
    let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    Ok((status, value))
}

async fn exchange<IO>(
    io: IO,
    request: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, String>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}
