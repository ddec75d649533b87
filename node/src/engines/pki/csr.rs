//! Reading a certificate signing request (PEM) with x509-parser: its signature is checked, and
//! the subject's common name, SANs and public key come out for `sign/<role>` and
//! `root/sign-intermediate`. Also the few fields of a PEM certificate the engine needs.

use super::certgen::Names;
use super::keys::KeyType;
use super::PkiError;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::{FromDer, X509Certificate};
use x509_parser::public_key::PublicKey;

/// What a CSR asks for.
#[derive(Debug)]
pub struct Csr {
    pub names: Names,
    pub public_key: rcgen::SubjectPublicKeyInfo,
    pub key_type: KeyType,
    pub key_bits: u32,
}

fn pem_contents(pem: &str, what: &str) -> Result<Vec<u8>, PkiError> {
    let (_, parsed) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes())
        .map_err(|_| PkiError::user(format!("could not parse {what}: no PEM data found")))?;
    Ok(parsed.contents)
}

/// Parse and verify a PEM CSR.
pub fn parse(pem: &str) -> Result<Csr, PkiError> {
    let der = pem_contents(pem, "CSR")?;
    let (_, csr) = x509_parser::certification_request::X509CertificationRequest::from_der(&der)
        .map_err(|e| PkiError::user(format!("certificate request could not be parsed: {e}")))?;
    csr.verify_signature()
        .map_err(|_| PkiError::user("request signature invalid"))?;
    let info = &csr.certification_request_info;
    let mut names = Names {
        common_name: info
            .subject
            .iter_common_name()
            .next()
            .and_then(|cn| cn.as_str().ok())
            .unwrap_or_default()
            .to_string(),
        ..Names::default()
    };
    if let Some(exts) = csr.requested_extensions() {
        for ext in exts {
            if let ParsedExtension::SubjectAlternativeName(san) = ext {
                for name in &san.general_names {
                    add_general_name(&mut names, name);
                }
            }
        }
    }
    let spki = &info.subject_pki;
    let (key_type, key_bits) = match spki.parsed() {
        Ok(PublicKey::RSA(rsa)) => (KeyType::Rsa, rsa.key_size() as u32),
        Ok(PublicKey::EC(point)) => (KeyType::Ec, point.key_size() as u32),
        _ if spki.algorithm.algorithm == x509_parser::oid_registry::OID_SIG_ED25519 => {
            (KeyType::Ed25519, 0)
        }
        _ => return Err(PkiError::user("unsupported public key type in CSR")),
    };
    let public_key = rcgen::SubjectPublicKeyInfo::from_der(spki.raw)
        .map_err(|e| PkiError::user(format!("unsupported public key in CSR: {e}")))?;
    Ok(Csr {
        names,
        public_key,
        key_type,
        key_bits,
    })
}

fn add_general_name(names: &mut Names, name: &GeneralName<'_>) {
    match name {
        GeneralName::DNSName(d) => names.dns.push(d.to_string()),
        GeneralName::RFC822Name(e) => names.emails.push(e.to_string()),
        GeneralName::URI(u) => names.uris.push(u.to_string()),
        GeneralName::IPAddress(bytes) => {
            if let Ok(v4) = <[u8; 4]>::try_from(*bytes) {
                names.ips.push(v4.into());
            } else if let Ok(v6) = <[u8; 16]>::try_from(*bytes) {
                names.ips.push(v6.into());
            }
        }
        _ => {}
    }
}

/// The fields of a PEM certificate the engine keeps.
#[derive(Debug, Clone)]
pub struct CertInfo {
    pub serial_number: String,
    pub not_after: i64,
    /// SubjectPublicKeyInfo DER, to match a certificate with a key.
    pub spki: Vec<u8>,
    pub subject: Vec<u8>,
    pub issuer: Vec<u8>,
}

/// Read a PEM certificate.
pub fn cert_info(pem: &str) -> Result<CertInfo, PkiError> {
    let der = pem_contents(pem, "certificate")?;
    let (_, cert) = X509Certificate::from_der(&der)
        .map_err(|e| PkiError::user(format!("could not parse certificate: {e}")))?;
    let info = CertInfo {
        serial_number: super::serial::colon(cert.raw_serial()),
        not_after: cert.validity().not_after.timestamp(),
        spki: cert.public_key().raw.to_vec(),
        subject: cert.subject().as_raw().to_vec(),
        issuer: cert.issuer().as_raw().to_vec(),
    };
    Ok(info)
}

/// Split a PEM bundle into its certificates' PEM blocks.
pub fn split_pem_certs(bundle: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = bundle;
    const BEGIN: &str = "-----BEGIN CERTIFICATE-----";
    const END: &str = "-----END CERTIFICATE-----";
    while let Some(start) = rest.find(BEGIN) {
        let Some(end) = rest[start..].find(END) else {
            break;
        };
        let stop = start + end + END.len();
        out.push(format!("{}\n", &rest[start..stop]));
        rest = &rest[stop..];
    }
    out
}
