//! The engine's operations over its store that several endpoints share: loading an issuer with
//! its key, adding keys and issuers (the first becomes the default), keeping issued
//! certificates, and rebuilding CRLs.

use super::certgen::Issued;
use super::keys::{KeyType, Signer};
use super::store::{self, CertRecord, CrlRecord, Defaults, IssuerEntry, KeyEntry, Revoked};
use super::{crl, csr, serial, PkiError};
use crate::error::ApiError;
use crate::storage::StorageView;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;

/// An issuer and its private key, ready to sign.
pub struct Authority {
    pub issuer: IssuerEntry,
    pub key: Signer,
}

/// The issuer `reference` names (`default`, an id or a name) with its key.
pub async fn load(s: &StorageView, reference: &str) -> Result<Authority, ApiError> {
    let issuer = store::issuer_by_ref(s, reference).await?.ok_or_else(|| {
        if reference == "default" {
            ApiError::bad("no default issuer currently configured")
        } else {
            ApiError::bad(format!(
                "unable to find PKI issuer for reference: {reference}"
            ))
        }
    })?;
    let key = signer_of(s, &issuer).await?;
    Ok(Authority { issuer, key })
}

async fn signer_of(s: &StorageView, issuer: &IssuerEntry) -> Result<Signer, ApiError> {
    if issuer.key_id.is_empty() {
        return Err(ApiError::bad(format!(
            "issuer {} has no private key to sign with",
            issuer.id
        )));
    }
    let key = store::get::<KeyEntry>(s, &format!("{}{}", store::KEY_PREFIX, issuer.key_id))
        .await?
        .ok_or_else(|| ApiError::Internal(format!("key {} is missing", issuer.key_id)))?;
    Ok(Signer::from_pem(
        KeyType::parse(&key.key_type)?,
        &key.private_key,
    )?)
}

/// Store a new key; the first becomes the default. Returns its id.
pub async fn add_key(
    s: &StorageView,
    name: &str,
    kind: KeyType,
    bits: u32,
    private_key: &str,
) -> Result<String, ApiError> {
    let id = crate::ids::uuid();
    let entry = KeyEntry {
        id: id.clone(),
        name: name.to_string(),
        key_type: kind.name().to_string(),
        key_bits: bits,
        private_key: private_key.to_string(),
    };
    store::put(s, &format!("{}{id}", store::KEY_PREFIX), &entry).await?;
    set_default_if_unset(s, store::KEYS_DEFAULT, &id).await?;
    Ok(id)
}

async fn set_default_if_unset(s: &StorageView, path: &str, id: &str) -> Result<(), ApiError> {
    let current = store::get::<Defaults>(s, path).await?.unwrap_or_default();
    if current.default.is_empty() {
        let new = Defaults {
            default: id.to_string(),
        };
        store::put(s, path, &new).await?;
    }
    Ok(())
}

/// Store a new issuer; the first becomes the default.
pub async fn add_issuer(s: &StorageView, issuer: &IssuerEntry) -> Result<(), ApiError> {
    store::put(s, &format!("{}{}", store::ISSUER_PREFIX, issuer.id), issuer).await?;
    set_default_if_unset(s, store::ISSUERS_DEFAULT, &issuer.id).await
}

/// The key whose public half is `spki` (DER SubjectPublicKeyInfo), if the mount has it.
pub async fn key_for_spki(s: &StorageView, spki: &[u8]) -> Result<Option<String>, ApiError> {
    use rcgen::PublicKeyData;
    for key in store::keys(s).await? {
        let signer = Signer::from_pem(KeyType::parse(&key.key_type)?, &key.private_key)?;
        if signer.subject_public_key_info() == spki {
            return Ok(Some(key.id.clone()));
        }
    }
    Ok(None)
}

/// Keep an issued certificate under `certs/<serial>`.
pub async fn keep(s: &StorageView, issued: &Issued, issuer_id: &str) -> Result<(), ApiError> {
    let record = CertRecord {
        certificate: issued.pem.clone(),
        issuer_id: issuer_id.to_string(),
        not_after: issued.not_after,
    };
    let path = format!(
        "{}{}",
        store::CERTS_PREFIX,
        serial::storage_form(&issued.serial_number)
    );
    store::put(s, &path, &record).await
}

/// Every revocation.
pub async fn revocations(s: &StorageView) -> Result<Vec<Revoked>, ApiError> {
    let mut out = Vec::new();
    for key in s.list(store::REVOKED_PREFIX).await? {
        if let Some(r) = store::get(s, &format!("{}{key}", store::REVOKED_PREFIX)).await? {
            out.push(r);
        }
    }
    Ok(out)
}

/// Rebuild the CRL of every issuer with a key, each with the next number.
pub async fn rebuild_crls(s: &StorageView) -> Result<(), ApiError> {
    let revoked = revocations(s).await?;
    for issuer in store::issuers(s).await? {
        if issuer.key_id.is_empty() {
            continue;
        }
        rebuild_one(s, &issuer, &revoked).await?;
    }
    Ok(())
}

async fn rebuild_one(
    s: &StorageView,
    issuer: &IssuerEntry,
    revoked: &[Revoked],
) -> Result<CrlRecord, ApiError> {
    let key = signer_of(s, issuer).await?;
    let path = format!("{}{}", store::CRL_PREFIX, issuer.id);
    let previous = store::get::<CrlRecord>(s, &path).await?.unwrap_or_default();
    let mine: Vec<Revoked> = revoked
        .iter()
        .filter(|r| r.issuer_id == issuer.id)
        .cloned()
        .collect();
    let number = previous.number + 1;
    let der = crl::build(issuer, &key, number, &mine)?;
    let record = CrlRecord {
        number,
        der: STANDARD.encode(der),
    };
    store::put(s, &path, &record).await?;
    Ok(record)
}

/// The current DER CRL of the default issuer, built now if it never was.
pub async fn current_crl(s: &StorageView) -> Result<Vec<u8>, ApiError> {
    let issuer = store::issuer_by_ref(s, "default")
        .await?
        .ok_or_else(|| ApiError::bad("no default issuer currently configured"))?;
    let path = format!("{}{}", store::CRL_PREFIX, issuer.id);
    let record = match store::get::<CrlRecord>(s, &path).await? {
        Some(r) if !r.der.is_empty() => r,
        _ => rebuild_one(s, &issuer, &revocations(s).await?).await?,
    };
    STANDARD
        .decode(record.der)
        .map_err(|e| ApiError::Internal(format!("stored CRL is unreadable: {e}")))
}

/// A new issuer record for a PEM certificate.
pub fn issuer_entry(
    pem: &str,
    name: &str,
    key_id: &str,
    chain: Vec<String>,
) -> Result<IssuerEntry, PkiError> {
    let info = csr::cert_info(pem)?;
    Ok(IssuerEntry {
        id: crate::ids::uuid(),
        name: name.to_string(),
        key_id: key_id.to_string(),
        certificate: pem.to_string(),
        chain,
        serial_number: info.serial_number,
        not_after: info.not_after,
    })
}
