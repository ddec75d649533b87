//! The transit seal's HTTP client: one HTTP/1.1 JSON call per connection (seal calls are rare),
//! over rustls for `https://` with the stanza's TLS options, each call under a deadline so an
//! unreachable or hung unsealer is an error, not a hang.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper_util::rt::TokioIo;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use serde_json::Value;

use super::wire::backend;
use super::TransitSettings;
use crate::error::SealError;

/// How long one call may take, connect and TLS included.
const CALL_DEADLINE: Duration = Duration::from_secs(10);

/// Where and how to reach the unsealer.
pub(super) struct Client {
    /// `host:port` to connect to.
    authority: String,
    /// The `Host` header (the address as given).
    host_header: String,
    /// `Some` for `https://`: the TLS config and the name the certificate must carry.
    tls: Option<(Arc<rustls::ClientConfig>, ServerName<'static>)>,
    token: zeroize::Zeroizing<String>,
    namespace: Option<String>,
}

/// `https://h:p` → (true, "h:p"); a missing port is the scheme's default.
pub(super) fn parse_address(address: &str) -> Result<(bool, String, String), SealError> {
    let bad = || {
        SealError::InvalidRequest(format!(
            "transit: address {address:?} is not http(s)://host[:port]"
        ))
    };
    let (tls, rest) = if let Some(r) = address.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = address.strip_prefix("http://") {
        (false, r)
    } else {
        return Err(bad());
    };
    let host = rest.trim_end_matches('/');
    if host.is_empty() || host.contains('/') || host.contains('@') {
        return Err(bad());
    }
    let has_port = host.rsplit_once(':').is_some_and(|(h, p)| {
        !p.is_empty()
            && p.bytes().all(|b| b.is_ascii_digit())
            && (!h.contains(':') || h.ends_with(']'))
    });
    let authority = if has_port {
        host.to_string()
    } else {
        format!("{host}:{}", if tls { 443 } else { 80 })
    };
    Ok((tls, authority, host.to_string()))
}

fn read_file(what: &str, path: &str) -> Result<Vec<u8>, SealError> {
    std::fs::read(path).map_err(|e| {
        SealError::InvalidRequest(format!("transit: cannot read {what} {path:?}: {e}"))
    })
}

fn tls_config(s: &TransitSettings) -> Result<rustls::ClientConfig, SealError> {
    let invalid =
        |e: &dyn std::fmt::Display| SealError::InvalidRequest(format!("transit: TLS: {e}"));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| invalid(&e))?;
    let builder = if s.tls_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyServer(provider)))
    } else {
        let mut roots = rustls::RootCertStore::empty();
        match &s.tls_ca_cert {
            Some(path) => {
                let pem = read_file("tls_ca_cert", path)?;
                for cert in rustls_pemfile::certs(&mut pem.as_slice()) {
                    roots
                        .add(cert.map_err(|e| invalid(&e))?)
                        .map_err(|e| invalid(&e))?;
                }
                if roots.is_empty() {
                    return Err(invalid(&format!("no certificate in {path:?}")));
                }
            }
            None => {
                for cert in rustls_native_certs::load_native_certs().certs {
                    let _ = roots.add(cert);
                }
            }
        }
        builder.with_root_certificates(roots)
    };
    match (&s.tls_client_cert, &s.tls_client_key) {
        (Some(cert), Some(key)) => {
            let pem = read_file("tls_client_cert", cert)?;
            let chain = rustls_pemfile::certs(&mut pem.as_slice())
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| invalid(&e))?;
            let pem = zeroize::Zeroizing::new(read_file("tls_client_key", key)?);
            let key = rustls_pemfile::private_key(&mut pem.as_slice())
                .map_err(|e| invalid(&e))?
                .ok_or_else(|| invalid(&format!("no private key in {key:?}")))?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|e| invalid(&e))
        }
        (None, None) => Ok(builder.with_no_client_auth()),
        _ => Err(invalid(&"tls_client_cert and tls_client_key go together")),
    }
}

impl Client {
    /// Checks the address and loads the TLS files; no network I/O.
    pub(super) fn new(s: &TransitSettings) -> Result<Client, SealError> {
        let (https, authority, host) = parse_address(&s.address)?;
        let tls = if https {
            let name = s.tls_server_name.clone().unwrap_or_else(|| {
                host.rsplit_once(':')
                    .filter(|(_, p)| p.bytes().all(|b| b.is_ascii_digit()))
                    .map_or(host.as_str(), |(h, _)| h)
                    .trim_matches(['[', ']'])
                    .to_string()
            });
            let name = ServerName::try_from(name)
                .map_err(|e| SealError::InvalidRequest(format!("transit: server name: {e}")))?;
            Some((Arc::new(tls_config(s)?), name))
        } else {
            None
        };
        Ok(Client {
            authority,
            host_header: host,
            tls,
            token: s.token.clone(),
            namespace: s.namespace.clone(),
        })
    }

    /// One call: `method` on `path` (`/v1/...`) with the token and `body`; the status and the
    /// JSON answer (`Null` when empty or not JSON).
    pub(super) async fn call(
        &self,
        op: &str,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Value), SealError> {
        tokio::time::timeout(CALL_DEADLINE, self.exchange(op, method, path, body))
            .await
            .map_err(|_| {
                backend(
                    op,
                    format!("no answer from {} within {CALL_DEADLINE:?}", self.authority),
                )
            })?
    }

    async fn exchange(
        &self,
        op: &str,
        method: &str,
        path: &str,
        body: Vec<u8>,
    ) -> Result<(u16, Value), SealError> {
        let io = |e: &dyn std::fmt::Display| backend(op, format!("{}: {e}", self.authority));
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(hyper::header::HOST, self.host_header.as_str())
            .header(hyper::header::CONTENT_TYPE, "application/json")
            .header("X-Vault-Token", self.token.as_str())
            .header("X-Vault-Request", "true");
        if let Some(ns) = &self.namespace {
            request = request.header("X-Vault-Namespace", ns.as_str());
        }
        let request = request
            .body(Full::new(Bytes::from(body)))
            .map_err(|e| io(&e))?;
        let stream = tokio::net::TcpStream::connect(&self.authority)
            .await
            .map_err(|e| io(&e))?;
        let response = match &self.tls {
            Some((config, name)) => {
                let stream = tokio_rustls::TlsConnector::from(config.clone())
                    .connect(name.clone(), stream)
                    .await
                    .map_err(|e| io(&e))?;
                send(TokioIo::new(stream), request).await
            }
            None => send(TokioIo::new(stream), request).await,
        }
        .map_err(|e| io(&e))?;
        let status = response.status().as_u16();
        let bytes = response
            .into_body()
            .collect()
            .await
            .map_err(|e| io(&e))?
            .to_bytes();
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Ok((status, value))
    }
}

async fn send<IO>(
    io: IO,
    request: hyper::Request<Full<Bytes>>,
) -> Result<hyper::Response<hyper::body::Incoming>, hyper::Error>
where
    IO: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(io).await?;
    tokio::spawn(async move {
        let _ = conn.await;
    });
    sender.send_request(request).await
}

/// `tls_skip_verify`: any certificate is accepted (signatures are still checked, so the
/// handshake itself is sound); as in Vault, for tests only.
#[derive(Debug)]
struct AnyServer(Arc<rustls::crypto::CryptoProvider>);

impl rustls::client::danger::ServerCertVerifier for AnyServer {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<rustls::client::danger::ServerCertVerified, rustls::Error> {
        Ok(rustls::client::danger::ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &rustls::DigitallySignedStruct,
    ) -> Result<rustls::client::danger::HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<rustls::SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn addresses_need_a_scheme_and_get_its_default_port() {
        assert_eq!(
            parse_address("https://vault.example").unwrap(),
            (true, "vault.example:443".into(), "vault.example".into())
        );
        assert_eq!(
            parse_address("http://127.0.0.1:8200/").unwrap(),
            (false, "127.0.0.1:8200".into(), "127.0.0.1:8200".into())
        );
        assert_eq!(parse_address("http://[::1]").unwrap().1, "[::1]:80");
        for bad in [
            "127.0.0.1:8200",
            "http://",
            "https://h/v1",
            "ftp://h",
            "http://u@h",
        ] {
            assert!(parse_address(bad).is_err(), "{bad}");
        }
    }
}
