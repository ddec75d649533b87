//! Mutual TLS for the cluster port: every member presents a certificate signed by the cluster CA
//! and requires one from its peer. The node keeps the material (the cluster certificate lives
//! behind the barrier); this module only turns PEM bytes into tonic's TLS settings.
//!
//! Under `--cfg madsim` the simulated network has no TLS: these types exist so callers compile
//! unchanged in both builds, and the transport ignores them.

use std::fmt;

use zeroize::{Zeroize, ZeroizeOnDrop};

/// A cluster server's TLS identity and the CA its clients' certificates must chain to.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ServerTls {
    /// This node's certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// This node's private key (PEM). Zeroized on drop, never in Debug output.
    pub key_pem: Vec<u8>,
    /// The CA that signs every member's client certificate (PEM). A client certificate is
    /// required: a peer without one cannot complete the handshake.
    pub client_ca_pem: Vec<u8>,
}

/// A cluster client's TLS identity and the CA that the servers' certificates must chain to.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ClientTls {
    /// The CA that signs every member's server certificate (PEM).
    pub ca_pem: Vec<u8>,
    /// This node's client certificate chain (PEM).
    pub cert_pem: Vec<u8>,
    /// This node's private key (PEM). Zeroized on drop, never in Debug output.
    pub key_pem: Vec<u8>,
    /// The name to verify in the servers' certificates. `None` uses the host of the peer's
    /// cluster address; a cluster certificate shared by all members names one fixed domain.
    pub domain: Option<String>,
}

impl fmt::Debug for ServerTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ServerTls")
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .field(
                "client_ca_pem",
                &format_args!("{} bytes", self.client_ca_pem.len()),
            )
            .finish()
    }
}

impl fmt::Debug for ClientTls {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientTls")
            .field("ca_pem", &format_args!("{} bytes", self.ca_pem.len()))
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .field("domain", &self.domain)
            .finish()
    }
}

#[cfg(not(madsim))]
mod tonic_config {
    use tonic::transport::{Certificate, ClientTlsConfig, Identity, ServerTlsConfig};

    use super::{ClientTls, ServerTls};

    impl ServerTls {
        /// tonic's server settings: this identity, client certificates required and verified
        /// against `client_ca_pem`. PEM is parsed when the server starts.
        pub fn to_tonic(&self) -> ServerTlsConfig {
            ServerTlsConfig::new()
                .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
                .client_ca_root(Certificate::from_pem(&self.client_ca_pem))
                .client_auth_optional(false)
        }
    }

    impl ClientTls {
        /// tonic's client settings for a peer whose cluster address has host `host`.
        pub fn to_tonic(&self, host: &str) -> ClientTlsConfig {
            let domain = self.domain.as_deref().unwrap_or(host);
            ClientTlsConfig::new()
                .ca_certificate(Certificate::from_pem(&self.ca_pem))
                .identity(Identity::from_pem(&self.cert_pem, &self.key_pem))
                .domain_name(domain)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_key() {
        let server = ServerTls {
            cert_pem: b"CERT".to_vec(),
            key_pem: b"-----BEGIN PRIVATE KEY----- secret".to_vec(),
            client_ca_pem: b"CA".to_vec(),
        };
        let client = ClientTls {
            ca_pem: b"CA".to_vec(),
            cert_pem: b"CERT".to_vec(),
            key_pem: b"-----BEGIN PRIVATE KEY----- secret".to_vec(),
            domain: Some("coffer-cluster".into()),
        };
        for shown in [format!("{server:?}"), format!("{client:?}")] {
            assert!(!shown.contains("secret"), "{shown}");
            assert!(shown.contains("<redacted>"), "{shown}");
        }
    }
}
