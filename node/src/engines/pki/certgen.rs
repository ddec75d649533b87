//! Building certificates with rcgen: the subject and SANs, validity (Vault's TTL rules and
//! its 30 s backdating), CA or leaf extensions, and the signature by a stored issuer (or by the
//! new key itself for a root). No I/O.

use super::keys::Signer;
use super::serial;
use super::store::IssuerEntry;
use super::PkiError;
use crate::mounts::MountEntry;
use rcgen::{
    BasicConstraints, CertificateParams, CrlDistributionPoint, DnType, ExtendedKeyUsagePurpose,
    IsCa, KeyUsagePurpose, PublicKeyData, SanType, SerialNumber,
};
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Vault's `not_before_duration` default: certificates are valid from 30 s before issuance.
const NOT_BEFORE_BACKDATE: Duration = Duration::from_secs(30);

/// The names a certificate is for.
#[derive(Debug, Clone, Default)]
pub struct Names {
    pub common_name: String,
    pub dns: Vec<String>,
    pub emails: Vec<String>,
    pub ips: Vec<IpAddr>,
    pub uris: Vec<String>,
}

/// What kind of certificate.
#[derive(Debug, Clone)]
pub enum Profile {
    /// A CA; `None` leaves the path length unconstrained.
    Ca { max_path_length: Option<u8> },
    /// An end-entity certificate with Vault's role flags.
    Leaf {
        server: bool,
        client: bool,
        key_usages: Vec<KeyUsagePurpose>,
    },
}

/// One certificate to build.
#[derive(Debug, Clone)]
pub struct Plan {
    pub names: Names,
    pub not_after: SystemTime,
    pub profile: Profile,
    pub crl_distribution_points: Vec<String>,
}

/// A signed certificate.
#[derive(Debug, Clone)]
pub struct Issued {
    pub pem: String,
    pub serial_number: String,
    /// Unix seconds.
    pub not_after: i64,
}

/// Unix seconds of `t`.
pub fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Vault's `GetCertificateNotAfter`: the request's TTL, else the role's, else the mount's
/// default; capped (with a warning) at the role's max, else the mount's max.
pub fn not_after(
    requested: Option<u64>,
    role_ttl: u64,
    role_max: u64,
    mount: &MountEntry,
) -> (SystemTime, Vec<String>) {
    let system = crate::config::DEFAULT_LEASE_TTL_SECS;
    let or_system = |v: u64| if v == 0 { system } else { v };
    let mut ttl = requested.filter(|t| *t > 0).unwrap_or(role_ttl);
    if ttl == 0 {
        ttl = or_system(mount.config.default_lease_ttl);
    }
    let max = if role_max > 0 {
        role_max
    } else {
        or_system(mount.config.max_lease_ttl)
    };
    let mut warnings = Vec::new();
    if ttl > max {
        warnings.push(format!(
            "TTL \"{}\" is longer than permitted maxTTL \"{}\", so maxTTL is being used",
            crate::duration::go_format(ttl),
            crate::duration::go_format(max)
        ));
        ttl = max;
    }
    (crate::clock::now() + Duration::from_secs(ttl), warnings)
}

/// Vault's default `leaf_not_after_behavior` (`err`): nothing outlives its issuer.
pub fn within_issuer(not_after: SystemTime, issuer: &IssuerEntry) -> Result<(), PkiError> {
    if unix(not_after) > issuer.not_after {
        let fmt = |s: i64| crate::clock::rfc3339(UNIX_EPOCH + Duration::from_secs(s.max(0) as u64));
        return Err(PkiError::user(format!(
            "cannot satisfy request, as TTL would result in notAfter of {} that is beyond the expiration of the CA certificate at {}",
            fmt(unix(not_after)),
            fmt(issuer.not_after)
        )));
    }
    Ok(())
}

fn params(plan: &Plan, serial_bytes: &[u8]) -> Result<CertificateParams, PkiError> {
    let mut p = CertificateParams::default();
    if !plan.names.common_name.is_empty() {
        p.distinguished_name
            .push(DnType::CommonName, plan.names.common_name.clone());
    }
    let ia5 = |s: &str| {
        s.to_string()
            .try_into()
            .map_err(|_| PkiError::user(format!("the value {s:?} is not a valid name")))
    };
    for d in &plan.names.dns {
        p.subject_alt_names.push(SanType::DnsName(ia5(d)?));
    }
    for e in &plan.names.emails {
        p.subject_alt_names.push(SanType::Rfc822Name(ia5(e)?));
    }
    for ip in &plan.names.ips {
        p.subject_alt_names.push(SanType::IpAddress(*ip));
    }
    for u in &plan.names.uris {
        p.subject_alt_names.push(SanType::URI(ia5(u)?));
    }
    let now = crate::clock::now();
    p.not_before = (now - NOT_BEFORE_BACKDATE).into();
    p.not_after = plan.not_after.into();
    p.serial_number = Some(SerialNumber::from_slice(serial_bytes));
    p.use_authority_key_identifier_extension = true;
    if !plan.crl_distribution_points.is_empty() {
        p.crl_distribution_points = vec![CrlDistributionPoint {
            uris: plan.crl_distribution_points.clone(),
        }];
    }
    match &plan.profile {
        Profile::Ca { max_path_length } => {
            p.is_ca = IsCa::Ca(match max_path_length {
                Some(n) => BasicConstraints::Constrained(*n),
                None => BasicConstraints::Unconstrained,
            });
            p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        }
        Profile::Leaf {
            server,
            client,
            key_usages,
        } => {
            p.is_ca = IsCa::ExplicitNoCa;
            p.key_usages = key_usages.clone();
            if *server {
                p.extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ServerAuth);
            }
            if *client {
                p.extended_key_usages
                    .push(ExtendedKeyUsagePurpose::ClientAuth);
            }
        }
    }
    Ok(p)
}

fn issued(cert: rcgen::Certificate, serial_bytes: &[u8], not_after: SystemTime) -> Issued {
    Issued {
        pem: cert.pem(),
        serial_number: serial::colon(serial_bytes),
        not_after: unix(not_after),
    }
}

/// A root certificate signed by its own key.
pub fn self_signed(plan: &Plan, key: &Signer) -> Result<Issued, PkiError> {
    let serial_bytes = serial::generate();
    let cert = params(plan, &serial_bytes)?.self_signed(key)?;
    Ok(issued(cert, &serial_bytes, plan.not_after))
}

/// A certificate for `public` signed by `issuer` with its key.
pub fn signed_by(
    plan: &Plan,
    public: &impl PublicKeyData,
    issuer: &IssuerEntry,
    issuer_key: &Signer,
) -> Result<Issued, PkiError> {
    let serial_bytes = serial::generate();
    let signer = rcgen::Issuer::from_ca_cert_pem(&issuer.certificate, issuer_key)
        .map_err(|e| PkiError::Internal(format!("stored issuer is unreadable: {e}")))?;
    let cert = params(plan, &serial_bytes)?.signed_by(public, &signer)?;
    Ok(issued(cert, &serial_bytes, plan.not_after))
}
