//! From a member's `cluster_addr` (Vault's form, `https://host:8201`, or a bare `host:8201`) to a
//! tonic channel.

use std::time::Duration;

use tonic::transport::{Channel, Endpoint};

use super::tls::ClientTls;
use super::TransportError;

/// How long a channel may take to open a connection (TCP, and the TLS handshake).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// Keep-alive pings on otherwise idle cluster connections, so a dead peer is noticed.
const KEEPALIVE_INTERVAL: Duration = Duration::from_secs(10);

/// The URI a channel to `cluster_addr` connects to: `https://` when TLS is on, else `http://`,
/// whatever scheme (if any) the address was written with.
pub fn endpoint_uri(cluster_addr: &str, tls: bool) -> Result<String, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidAddress {
        addr: cluster_addr.to_string(),
        reason: reason.to_string(),
    };
    let trimmed = cluster_addr.trim();
    let authority = ["https://", "http://"]
        .iter()
        .find_map(|scheme| trimmed.strip_prefix(scheme))
        .unwrap_or(trimmed)
        .trim_end_matches('/');
    if authority.is_empty() {
        return Err(invalid("no host"));
    }
    if authority.contains(['/', '?', '#', ' ']) || authority.contains("://") {
        return Err(invalid("expected [scheme://]host:port"));
    }
    let scheme = if tls { "https" } else { "http" };
    Ok(format!("{scheme}://{authority}"))
}

/// A long-lived channel to `cluster_addr` that connects on first use and reconnects after
/// failures. With `tls`, the connection is mutual TLS (outside simulation; under madsim TLS is
/// not applied). Building it does no I/O.
pub fn lazy_channel(
    cluster_addr: &str,
    tls: Option<&ClientTls>,
) -> Result<Channel, TransportError> {
    let uri = endpoint_uri(cluster_addr, tls.is_some() && cfg!(not(madsim)))?;
    let endpoint = Endpoint::from_shared(uri).map_err(|e| TransportError::InvalidAddress {
        addr: cluster_addr.to_string(),
        reason: e.to_string(),
    })?;
    let endpoint = endpoint
        .connect_timeout(CONNECT_TIMEOUT)
        .http2_keep_alive_interval(KEEPALIVE_INTERVAL)
        .keep_alive_while_idle(true);
    Ok(with_tls(endpoint, tls)?.connect_lazy())
}

#[cfg(not(madsim))]
fn with_tls(endpoint: Endpoint, tls: Option<&ClientTls>) -> Result<Endpoint, TransportError> {
    let Some(tls) = tls else {
        return Ok(endpoint);
    };
    let host = endpoint.uri().host().unwrap_or_default().to_string();
    endpoint
        .tls_config(tls.to_tonic(&host))
        .map_err(|e| TransportError::Tls(e.to_string()))
}

/// The simulated network has no TLS.
#[cfg(madsim)]
fn with_tls(endpoint: Endpoint, _tls: Option<&ClientTls>) -> Result<Endpoint, TransportError> {
    Ok(endpoint)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_addresses_become_uris() {
        let uri = |addr, tls| endpoint_uri(addr, tls).unwrap();
        assert_eq!(uri("https://10.0.0.1:8201", true), "https://10.0.0.1:8201");
        assert_eq!(uri("10.0.0.1:8201", true), "https://10.0.0.1:8201");
        assert_eq!(
            uri("https://coffer-0.coffer:8201/", false),
            "http://coffer-0.coffer:8201"
        );
        assert_eq!(uri("http://[::1]:8201", false), "http://[::1]:8201");
        for bad in ["", "https://", "https://h:1/path", "a b:1", "tcp://h:1"] {
            assert!(endpoint_uri(bad, true).is_err(), "{bad:?}");
        }
    }

    /// tonic spawns the channel's buffer task, so this needs a runtime.
    #[tokio::test]
    async fn channels_build_without_connecting() {
        assert!(lazy_channel("https://127.0.0.1:1", None).is_ok());
        assert!(matches!(
            lazy_channel("", None),
            Err(TransportError::InvalidAddress { .. })
        ));
    }
}
