//! `revoke`, the CRL (`crl` DER, `crl/pem`, `crl/rotate`) and `tidy` (drop certificates and
//! revocations expired longer than `safety_buffer` ago), `tidy-status`.

use super::store::{self, CertRecord, Revoked};
use super::{authority, csr, serial};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Response;
use crate::storage::StorageView;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use std::time::{Duration, UNIX_EPOCH};

/// Vault's default `safety_buffer`: 72h.
const DEFAULT_SAFETY_BUFFER: u64 = 72 * 3600;

/// RFC 3339 of unix seconds.
pub fn rfc3339(secs: i64) -> String {
    crate::clock::rfc3339(UNIX_EPOCH + Duration::from_secs(secs.max(0) as u64))
}

/// A DER CRL as PEM (`X509 CRL`).
pub fn crl_pem(der: &[u8]) -> String {
    let b64 = STANDARD.encode(der);
    let mut out = String::from("-----BEGIN X509 CRL-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str("-----END X509 CRL-----\n");
    out
}

/// `revoke`: by `serial_number` (or a PEM `certificate` the mount issued).
pub async fn revoke(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let f = Fields(&m.req.data);
    let colon = match (f.str_opt("serial_number")?, f.str_opt("certificate")?) {
        (Some(s), None) if !s.is_empty() => serial::normalize(&s)?,
        (None, Some(pem)) if !pem.is_empty() => csr::cert_info(&pem)?.serial_number,
        (Some(_), Some(_)) => {
            return Err(ApiError::bad(
                "must provide either the certificate or the serial to revoke; not both",
            ))
        }
        _ => return Err(ApiError::bad("The serial number must be provided")),
    };
    let time = revoke_colon(m.storage, colon).await?;
    Ok(Some(answer(time)))
}

/// A leased certificate's revocation (`Pki::revoke_secret`): into the CRL, unless already
/// there; a certificate the mount did not store (`no_store`) has nothing to revoke.
pub async fn revoke_serial(storage: &StorageView, serial_number: &str) -> Result<(), ApiError> {
    let colon = serial::normalize(serial_number)?;
    let key = serial::storage_form(&colon);
    if store::get::<CertRecord>(storage, &format!("{}{key}", store::CERTS_PREFIX))
        .await?
        .is_none()
    {
        return Ok(());
    }
    revoke_colon(storage, colon).await.map(|_| ())
}

/// Revoke the certificate with serial `colon` (colon form); the revocation time.
async fn revoke_colon(storage: &StorageView, colon: String) -> Result<i64, ApiError> {
    let key = serial::storage_form(&colon);
    let revoked_path = format!("{}{key}", store::REVOKED_PREFIX);
    if let Some(existing) = store::get::<Revoked>(storage, &revoked_path).await? {
        return Ok(existing.revocation_time);
    }
    let record: CertRecord = store::get(storage, &format!("{}{key}", store::CERTS_PREFIX))
        .await?
        .ok_or_else(|| ApiError::bad(format!("certificate with serial {colon} not found.")))?;
    if let Some(issuer) = store::issuers(storage)
        .await?
        .into_iter()
        .find(|i| i.serial_number == colon)
    {
        return Err(ApiError::bad(format!(
            "adding issuer (id: {}) to its own CRL is not allowed",
            issuer.id
        )));
    }
    let now = crate::clock::unix_now();
    let entry = Revoked {
        serial_number: colon,
        revocation_time: now,
        issuer_id: record.issuer_id,
        not_after: record.not_after,
    };
    store::put(storage, &revoked_path, &entry).await?;
    authority::rebuild_crls(storage).await?;
    Ok(now)
}

fn answer(time: i64) -> Response {
    Response::data(json!({
        "revocation_time": time,
        "revocation_time_rfc3339": rfc3339(time),
        "state": "revoked",
    }))
}

/// `crl`: DER.
pub async fn crl_der(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let der = authority::current_crl(m.storage).await?;
    Ok(Some(Response::bytes("application/pkix-crl", der)))
}

/// `crl/pem`.
pub async fn crl_pem_answer(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let der = authority::current_crl(m.storage).await?;
    Ok(Some(Response::text(
        "application/x-pem-file",
        crl_pem(&der),
    )))
}

/// `crl/rotate`: rebuild every CRL now.
pub async fn rotate(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    authority::rebuild_crls(m.storage).await?;
    Ok(Some(Response::data(json!({ "success": true }))))
}

/// What the last tidy did (`tidy-status`), kept by the engine.
#[derive(Debug, Clone, Default)]
pub struct TidyStatus {
    pub safety_buffer: u64,
    pub tidy_cert_store: bool,
    pub tidy_revoked_certs: bool,
    pub started: i64,
    pub finished: i64,
    pub cert_store_deleted_count: u64,
    pub revoked_cert_deleted_count: u64,
}

/// `tidy`: run now (Vault runs it in the background and answers 202 at once; here the 202
/// comes when it is done, with Vault's warning).
pub async fn tidy(m: &MountRequest<'_>, engine: &super::Pki) -> Result<Option<Response>, ApiError> {
    let f = Fields(&m.req.data);
    let cert_store = f.bool_or("tidy_cert_store", false)?;
    let revoked_certs = f.bool_or("tidy_revoked_certs", false)?;
    let buffer = f
        .secs_opt("safety_buffer")?
        .unwrap_or(DEFAULT_SAFETY_BUFFER);
    if !cert_store && !revoked_certs {
        return Err(ApiError::bad("No targets to tidy; specify tidy_cert_store=true or tidy_revoked_certs=true to start a tidy operation."));
    }
    let _guard = engine.tidy_lock.lock().await;
    let started = crate::clock::unix_now();
    let cutoff = started - i64::try_from(buffer).unwrap_or(i64::MAX);
    let mut status = TidyStatus {
        safety_buffer: buffer,
        tidy_cert_store: cert_store,
        tidy_revoked_certs: revoked_certs,
        started,
        ..TidyStatus::default()
    };
    if cert_store {
        for key in m.storage.list(store::CERTS_PREFIX).await? {
            let path = format!("{}{key}", store::CERTS_PREFIX);
            if let Some(r) = store::get::<CertRecord>(m.storage, &path).await? {
                if r.not_after < cutoff {
                    m.storage.delete(&path).await?;
                    status.cert_store_deleted_count += 1;
                }
            }
        }
    }
    if revoked_certs {
        let mut changed = false;
        for r in authority::revocations(m.storage).await? {
            if r.not_after < cutoff {
                let key = serial::storage_form(&r.serial_number);
                m.storage
                    .delete(&format!("{}{key}", store::REVOKED_PREFIX))
                    .await?;
                m.storage
                    .delete(&format!("{}{key}", store::CERTS_PREFIX))
                    .await?;
                status.revoked_cert_deleted_count += 1;
                changed = true;
            }
        }
        if changed {
            authority::rebuild_crls(m.storage).await?;
        }
    }
    status.finished = crate::clock::unix_now();
    *engine.tidy_status.lock() = Some(status);
    let resp = Response {
        warnings: vec!["Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs.".into()],
        ..Response::default()
    };
    Ok(Some(Response::raw_status(202, resp.envelope(&m.req.id))))
}

/// `tidy-status`.
pub fn tidy_status(engine: &super::Pki) -> Result<Option<Response>, ApiError> {
    let last = engine.tidy_status.lock().clone();
    let data = match last {
        None => json!({ "state": "Inactive", "error": null, "message": "" }),
        Some(s) => json!({
            "state": "Finished",
            "error": null,
            "message": "Tidying operation complete",
            "safety_buffer": s.safety_buffer,
            "tidy_cert_store": s.tidy_cert_store,
            "tidy_revoked_certs": s.tidy_revoked_certs,
            "time_started": rfc3339(s.started),
            "time_finished": rfc3339(s.finished),
            "cert_store_deleted_count": s.cert_store_deleted_count,
            "revoked_cert_deleted_count": s.revoked_cert_deleted_count,
        }),
    };
    Ok(Some(Response::data(data)))
}
