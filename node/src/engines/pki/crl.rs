//! Building an issuer's CRL with rcgen: every revocation recorded against the issuer, signed by
//! its key, numbered, valid for Vault's default 72 h.

use super::keys::Signer;
use super::store::{IssuerEntry, Revoked};
use super::PkiError;
use rcgen::{CertificateRevocationListParams, KeyIdMethod, RevokedCertParams, SerialNumber};
use std::time::{Duration, UNIX_EPOCH};

/// Vault's default CRL `expiry`.
pub const CRL_LIFETIME: Duration = Duration::from_secs(72 * 3600);

/// The DER CRL number `number` of `issuer` listing `revoked`.
pub fn build(
    issuer: &IssuerEntry,
    key: &Signer,
    number: u64,
    revoked: &[Revoked],
) -> Result<Vec<u8>, PkiError> {
    let now = crate::clock::now();
    let mut revoked_certs = Vec::new();
    for r in revoked {
        let bytes = hex::decode(r.serial_number.replace(':', ""))
            .map_err(|e| PkiError::Internal(format!("stored serial is unreadable: {e}")))?;
        revoked_certs.push(RevokedCertParams {
            serial_number: SerialNumber::from_slice(&bytes),
            revocation_time: (UNIX_EPOCH + Duration::from_secs(r.revocation_time.max(0) as u64))
                .into(),
            reason_code: None,
            invalidity_date: None,
        });
    }
    let params = CertificateRevocationListParams {
        this_update: now.into(),
        next_update: (now + CRL_LIFETIME).into(),
        crl_number: SerialNumber::from_slice(&number.to_be_bytes()),
        issuing_distribution_point: None,
        revoked_certs,
        key_identifier_method: KeyIdMethod::Sha256,
    };
    let signer = rcgen::Issuer::from_ca_cert_pem(&issuer.certificate, key)
        .map_err(|e| PkiError::Internal(format!("stored issuer is unreadable: {e}")))?;
    Ok(params.signed_by(&signer)?.der().to_vec())
}
