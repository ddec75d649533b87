//! A throw-away certificate authority for the mutual-TLS tests: node certificates valid for
//! `localhost` and 127.0.0.1, usable as server and as client certificates.

use std::net::{IpAddr, Ipv4Addr};

use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, IsCa, Issuer, KeyPair,
    KeyUsagePurpose, SanType,
};

use crate::transport::{ClientTls, ServerTls};

/// A CA and the PEM of its certificate.
pub struct Pki {
    issuer: Issuer<'static, KeyPair>,
    ca_pem: String,
}

/// One node's certificate and key (PEM).
pub struct NodeCert {
    pub cert_pem: String,
    pub key_pem: String,
}

impl Pki {
    pub fn new(name: &str) -> Pki {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let key = KeyPair::generate().unwrap();
        let ca_pem = params.self_signed(&key).unwrap().pem();
        Pki {
            issuer: Issuer::new(params, key),
            ca_pem,
        }
    }

    /// A certificate for node `name`, signed by this CA.
    pub fn node(&self, name: &str) -> NodeCert {
        let mut params = CertificateParams::new(vec!["localhost".to_string()]).unwrap();
        let loopback = IpAddr::V4(Ipv4Addr::LOCALHOST);
        params.subject_alt_names.push(SanType::IpAddress(loopback));
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        NodeCert {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        }
    }

    pub fn server_tls(&self, cert: &NodeCert) -> ServerTls {
        ServerTls {
            cert_pem: cert.cert_pem.clone().into_bytes(),
            key_pem: cert.key_pem.clone().into_bytes(),
            client_ca_pem: self.ca_pem.clone().into_bytes(),
        }
    }

    /// Client settings trusting this CA and presenting `cert`.
    pub fn client_tls(&self, cert: &NodeCert) -> ClientTls {
        ClientTls {
            ca_pem: self.ca_pem.clone().into_bytes(),
            cert_pem: cert.cert_pem.clone().into_bytes(),
            key_pem: cert.key_pem.clone().into_bytes(),
            domain: None,
        }
    }

    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }
}
