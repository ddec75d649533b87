//! Reading what the mount holds: `ca` (DER), `ca/pem`, `ca_chain`, `cert/<serial>` (also
//! `cert/ca`, `cert/crl`), `certs` (LIST), `issuers` (LIST), `issuer/<ref>`, `keys` (LIST),
//! `key/<ref>`.

use super::authority;
use super::serial;
use super::store::{self, CertRecord, IssuerEntry, KeyEntry, Revoked};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Map, Value};

fn not_found() -> ApiError {
    ApiError::NotFound(String::new())
}

async fn default_issuer(m: &MountRequest<'_>) -> Result<IssuerEntry, ApiError> {
    store::issuer_by_ref(m.storage, "default")
        .await?
        .ok_or_else(not_found)
}

/// The DER of a PEM block.
pub fn pem_to_der(pem: &str) -> Result<Vec<u8>, ApiError> {
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect::<Vec<_>>()
        .concat();
    STANDARD
        .decode(body.trim())
        .map_err(|e| ApiError::Internal(format!("stored PEM is unreadable: {e}")))
}

/// `ca`: the default issuer's certificate, DER.
pub async fn ca_der(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let issuer = default_issuer(m).await?;
    Ok(Some(Response::bytes(
        "application/pkix-cert",
        pem_to_der(&issuer.certificate)?,
    )))
}

/// `ca/pem`: the default issuer's certificate, PEM.
pub async fn ca_pem(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let issuer = default_issuer(m).await?;
    Ok(Some(Response::text(
        "application/pem-certificate-chain",
        issuer.certificate,
    )))
}

/// `ca_chain`: the default issuer's chain, PEM (without a root, as Vault).
pub async fn ca_chain(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let issuer = default_issuer(m).await?;
    let mut pems = issuer.ca_chain();
    if issuer.chain.is_empty() {
        pems.clear();
    }
    Ok(Some(Response::text("application/pkix-cert", pems.concat())))
}

/// `cert/<serial>` (`ca`, `ca_chain` and `crl` are Vault's special serials).
pub async fn cert(m: &MountRequest<'_>, which: &str) -> Result<Option<Response>, ApiError> {
    let data = match which {
        "ca" | "ca_chain" => {
            let issuer = default_issuer(m).await?;
            let certificate = if which == "ca" {
                issuer.certificate.clone()
            } else {
                issuer.ca_chain().concat()
            };
            json!({
                "certificate": certificate,
                "ca_chain": issuer.ca_chain(),
                "issuer_id": issuer.id,
                "revocation_time": 0,
                "revocation_time_rfc3339": "",
            })
        }
        "crl" => {
            let der = authority::current_crl(m.storage).await?;
            json!({
                "certificate": super::revoke_api::crl_pem(&der),
                "revocation_time": 0,
                "revocation_time_rfc3339": "",
            })
        }
        _ => {
            let colon = serial::normalize(which).map_err(|_| not_found())?;
            let key = serial::storage_form(&colon);
            let record: CertRecord =
                store::get(m.storage, &format!("{}{key}", store::CERTS_PREFIX))
                    .await?
                    .ok_or_else(not_found)?;
            let revoked: Option<Revoked> =
                store::get(m.storage, &format!("{}{key}", store::REVOKED_PREFIX)).await?;
            let (time, rfc) = match revoked {
                Some(r) => (
                    r.revocation_time,
                    super::revoke_api::rfc3339(r.revocation_time),
                ),
                None => (0, String::new()),
            };
            json!({
                "certificate": record.certificate,
                "issuer_id": record.issuer_id,
                "revocation_time": time,
                "revocation_time_rfc3339": rfc,
            })
        }
    };
    Ok(Some(Response::data(data)))
}

/// `certs` (LIST): every kept certificate's serial, colon form.
pub async fn list_certs(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let keys: Vec<String> = m
        .storage
        .list(store::CERTS_PREFIX)
        .await?
        .into_iter()
        .map(|k| k.replace('-', ":"))
        .collect();
    list_answer(keys, None)
}

fn list_answer(
    keys: Vec<String>,
    info: Option<Map<String, Value>>,
) -> Result<Option<Response>, ApiError> {
    if keys.is_empty() {
        return Err(not_found());
    }
    let mut data = json!({ "keys": keys });
    if let (Some(info), Value::Object(map)) = (info, &mut data) {
        map.insert("key_info".into(), Value::Object(info));
    }
    Ok(Some(Response::data(data)))
}

/// `issuers` (LIST), with Vault's `key_info`.
pub async fn list_issuers(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let default = store::default_issuer(m.storage).await?;
    let mut keys = Vec::new();
    let mut info = Map::new();
    for issuer in store::issuers(m.storage).await? {
        info.insert(
            issuer.id.clone(),
            json!({
                "issuer_name": issuer.name,
                "is_default": issuer.id == default,
                "serial_number": issuer.serial_number,
                "has_private_key": !issuer.key_id.is_empty(),
            }),
        );
        keys.push(issuer.id);
    }
    list_answer(keys, Some(info))
}

/// `issuer/<ref>` (read).
pub async fn read_issuer(
    m: &MountRequest<'_>,
    reference: &str,
) -> Result<Option<Response>, ApiError> {
    let issuer = store::issuer_by_ref(m.storage, reference)
        .await?
        .ok_or_else(|| {
            ApiError::bad(format!(
                "unable to find PKI issuer for reference: {reference}"
            ))
        })?;
    let urls = super::urls(m).await?;
    Ok(Some(Response::data(json!({
        "issuer_id": issuer.id,
        "issuer_name": issuer.name,
        "key_id": issuer.key_id,
        "certificate": issuer.certificate,
        "ca_chain": issuer.ca_chain(),
        "serial_number": issuer.serial_number,
        "manual_chain": Value::Null,
        "leaf_not_after_behavior": "err",
        "usage": "crl-signing,issuing-certificates,ocsp-signing,read-only",
        "revocation_signature_algorithm": "",
        "revoked": false,
        "issuing_certificates": urls.issuing_certificates,
        "crl_distribution_points": urls.crl_distribution_points,
        "ocsp_servers": urls.ocsp_servers,
        "enable_aia_url_templating": false,
    }))))
}

/// `keys` (LIST), with Vault's `key_info`.
pub async fn list_keys(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let default = store::get::<store::Defaults>(m.storage, store::KEYS_DEFAULT)
        .await?
        .unwrap_or_default()
        .default;
    let mut keys = Vec::new();
    let mut info = Map::new();
    for key in store::keys(m.storage).await? {
        info.insert(
            key.id.clone(),
            json!({ "key_name": key.name, "is_default": key.id == default }),
        );
        keys.push(key.id.clone());
    }
    list_answer(keys, Some(info))
}

/// `key/<ref>` (read): never the private key.
pub async fn read_key(m: &MountRequest<'_>, reference: &str) -> Result<Option<Response>, ApiError> {
    let key: KeyEntry = store::key_by_ref(m.storage, reference)
        .await?
        .ok_or_else(|| {
            ApiError::bad(format!("unable to find PKI key for reference: {reference}"))
        })?;
    Ok(Some(Response::data(json!({
        "key_id": key.id,
        "key_name": key.name,
        "key_type": key.key_type,
        "key_bits": key.key_bits,
    }))))
}
