//! The webhook's serving certificate: from files (`-tls-cert-file` / `-tls-key-file`, e.g. a
//! Secret made by cert-manager) or made at start (`-tls-auto`): a fresh CA, and a P-256 leaf it
//! signs for the service's DNS names. The CA's PEM is what goes into the webhook's caBundle.

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType,
};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// How long a generated certificate is valid (Vault's injector: one year, made anew at start).
const VALIDITY: Duration = Duration::from_secs(365 * 24 * 3600);
/// Clock skew between this pod and the API server the certificates tolerate.
const BACKDATE: Duration = Duration::from_secs(3600);

/// Why the TLS setup failed.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error("reading {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("generating the certificate: {0}")]
    Generate(#[from] rcgen::Error),
    #[error("TLS configuration: {0}")]
    Config(String),
}

/// A serving certificate chain and key, PEM.
pub struct ServingCert {
    pub cert_pem: String,
    pub key_pem: String,
    /// The CA that signed it (auto TLS only): the webhook's caBundle.
    pub ca_pem: Option<String>,
}

/// A new CA and a leaf for `hosts` (DNS names or IP addresses), valid from an hour ago.
pub fn generate(hosts: &[String]) -> Result<ServingCert, TlsError> {
    let now = crate::clock::now();
    let not_before = now.checked_sub(BACKDATE).unwrap_or(now);
    let not_after = now + VALIDITY;

    let ca_key = KeyPair::generate()?;
    let mut ca = CertificateParams::default();
    ca.distinguished_name = name("Coffer Agent Injector CA");
    ca.is_ca = IsCa::Ca(BasicConstraints::Constrained(0));
    ca.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    ca.not_before = not_before.into();
    ca.not_after = not_after.into();
    let ca_cert = ca.self_signed(&ca_key)?;
    let issuer = Issuer::new(ca, ca_key);

    let leaf_key = KeyPair::generate()?;
    let mut leaf = CertificateParams::default();
    leaf.distinguished_name = name(hosts.first().map(String::as_str).unwrap_or("injector"));
    leaf.subject_alt_names = hosts
        .iter()
        .map(|h| match h.parse::<IpAddr>() {
            Ok(ip) => Ok(SanType::IpAddress(ip)),
            Err(_) => Ok(SanType::DnsName(h.clone().try_into()?)),
        })
        .collect::<Result<_, rcgen::Error>>()?;
    leaf.is_ca = IsCa::ExplicitNoCa;
    leaf.key_usages = vec![
        KeyUsagePurpose::DigitalSignature,
        KeyUsagePurpose::KeyEncipherment,
    ];
    leaf.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
    leaf.not_before = not_before.into();
    leaf.not_after = not_after.into();
    let leaf_cert = leaf.signed_by(&leaf_key, &issuer)?;
    Ok(ServingCert {
        cert_pem: leaf_cert.pem(),
        key_pem: leaf_key.serialize_pem(),
        ca_pem: Some(ca_cert.pem()),
    })
}

fn name(common_name: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, common_name);
    dn
}

/// The certificate and key from files.
pub fn from_files(cert_file: &str, key_file: &str) -> Result<ServingCert, TlsError> {
    let read = |path: &str| {
        std::fs::read_to_string(path).map_err(|source| TlsError::Read {
            path: path.to_string(),
            source,
        })
    };
    Ok(ServingCert {
        cert_pem: read(cert_file)?,
        key_pem: read(key_file)?,
        ca_pem: None,
    })
}

/// The rustls server configuration serving `cert` (HTTP/1.1, no client certificates: the API
/// server does not present one to webhooks by default).
pub fn server_config(cert: &ServingCert) -> Result<Arc<rustls::ServerConfig>, TlsError> {
    let bad = |e: &dyn std::fmt::Display| TlsError::Config(e.to_string());
    let chain = rustls_pemfile::certs(&mut cert.cert_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| bad(&e))?;
    if chain.is_empty() {
        return Err(TlsError::Config("no certificate in the PEM".into()));
    }
    let key = rustls_pemfile::private_key(&mut cert.key_pem.as_bytes())
        .map_err(|e| bad(&e))?
        .ok_or_else(|| TlsError::Config("no private key in the PEM".into()))?;
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| bad(&e))?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| bad(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    /// The certificate's validity never starts in the future.
    fn starts_before(pem: &str, t: SystemTime) -> bool {
        let (_, der) = x509_parser::pem::parse_x509_pem(pem.as_bytes()).unwrap();
        let cert = der.parse_x509().unwrap();
        let start = cert.validity().not_before.timestamp();
        let t = t.duration_since(SystemTime::UNIX_EPOCH).unwrap().as_secs() as i64;
        start <= t
    }

    #[test]
    fn generated_leaf_names_the_hosts_and_chains_to_the_ca() {
        let hosts = vec![
            "coffer-injector".to_string(),
            "coffer-injector.vault.svc".to_string(),
            "127.0.0.1".to_string(),
        ];
        let made = generate(&hosts).unwrap();
        let ca_pem = made.ca_pem.clone().unwrap();
        assert!(starts_before(&made.cert_pem, SystemTime::now()));
        let (_, leaf_der) = x509_parser::pem::parse_x509_pem(made.cert_pem.as_bytes()).unwrap();
        let leaf = leaf_der.parse_x509().unwrap();
        let sans = format!(
            "{:?}",
            leaf.subject_alternative_name().unwrap().unwrap().value
        );
        assert!(sans.contains("coffer-injector.vault.svc"), "{sans}");
        let (_, ca_der) = x509_parser::pem::parse_x509_pem(ca_pem.as_bytes()).unwrap();
        let ca = ca_der.parse_x509().unwrap();
        leaf.verify_signature(Some(ca.public_key())).unwrap();
        assert!(server_config(&made).is_ok());
    }

    #[test]
    fn missing_files_name_the_path() {
        let err = from_files("/nonexistent/tls.crt", "/nonexistent/tls.key")
            .err()
            .unwrap();
        assert!(err.to_string().contains("/nonexistent/tls.crt"));
    }
}
