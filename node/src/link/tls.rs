//! The cluster certificate: mutual TLS on the cluster port. Generated once at `sys/init` (a CA
//! and one member certificate, both ECDSA P-256), kept behind the barrier at
//! [`STORAGE_PATH`], and handed to a joining node inside its join challenge, encrypted by the
//! keyring like every other barrier record. Every member presents the same certificate, as
//! server and as client, and accepts only peers that present one signed by the cluster CA; the
//! name checked is [`CLUSTER_DOMAIN`], not the peer's address, so members can move.
//!
//! A node learns it at unseal (from its own replicated copy) or at join; until then its cluster
//! port is closed (see `Core::enable_cluster_tls`).

use coffer_raft::{ClientTls, ServerTls};
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose,
};
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// Barrier path of the cluster TLS record.
pub const STORAGE_PATH: &str = "core/cluster/tls";
/// The name in the member certificate, and the name every member verifies.
pub const CLUSTER_DOMAIN: &str = "coffer-cluster";

/// The cluster CA and the member certificate it signed (PEM). The CA's private key is not
/// kept: nothing issues a second certificate.
#[derive(Clone, PartialEq, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct ClusterTls {
    pub ca_pem: String,
    pub cert_pem: String,
    pub key_pem: String,
}

impl std::fmt::Debug for ClusterTls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTls")
            .field("ca_pem", &format_args!("{} bytes", self.ca_pem.len()))
            .field("cert_pem", &format_args!("{} bytes", self.cert_pem.len()))
            .field("key_pem", &"<redacted>")
            .finish()
    }
}

impl ClusterTls {
    /// A new CA (named after the cluster) and member certificate.
    pub fn generate(cluster_name: &str) -> Result<ClusterTls, rcgen::Error> {
        let mut ca = CertificateParams::new(Vec::<String>::new())?;
        ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
        ca.distinguished_name
            .push(DnType::CommonName, format!("{cluster_name} cluster CA"));
        ca.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let ca_key = KeyPair::generate()?;
        let ca_pem = ca.self_signed(&ca_key)?.pem();
        let issuer = Issuer::new(ca, ca_key);

        let mut member = CertificateParams::new(vec![CLUSTER_DOMAIN.to_string()])?;
        member
            .distinguished_name
            .push(DnType::CommonName, CLUSTER_DOMAIN);
        member.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        member.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate()?;
        let cert = member.signed_by(&key, &issuer)?;
        Ok(ClusterTls {
            ca_pem,
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// The cluster port's server settings: client certificates required, from the cluster CA.
    pub fn server(&self) -> ServerTls {
        ServerTls {
            cert_pem: self.cert_pem.clone().into_bytes(),
            key_pem: self.key_pem.clone().into_bytes(),
            client_ca_pem: self.ca_pem.clone().into_bytes(),
        }
    }

    /// The settings for dialing a member (Raft and forwarding).
    pub fn client(&self) -> ClientTls {
        ClientTls {
            ca_pem: self.ca_pem.clone().into_bytes(),
            cert_pem: self.cert_pem.clone().into_bytes(),
            key_pem: self.key_pem.clone().into_bytes(),
            domain: Some(CLUSTER_DOMAIN.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_cluster_gets_its_own_ca_and_debug_hides_the_key() {
        let a = ClusterTls::generate("one").unwrap();
        let b = ClusterTls::generate("two").unwrap();
        assert_ne!(a.ca_pem, b.ca_pem);
        assert_ne!(a.key_pem, b.key_pem);
        assert!(a.cert_pem.starts_with("-----BEGIN CERTIFICATE-----"));
        assert!(a.key_pem.contains("PRIVATE KEY"));
        let shown = format!("{a:?}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
        assert_eq!(a.client().domain.as_deref(), Some(CLUSTER_DOMAIN));
    }
}
