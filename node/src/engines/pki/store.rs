//! Where the PKI mount keeps its state, all in its `StorageView` (so behind the barrier), under
//! Vault's names: `config/issuer/<id>`, `config/key/<id>` (private keys), `config/issuers` and
//! `config/keys` (the defaults), `config/urls`, `role/<name>`, `certs/<serial>` (every issued
//! certificate, hyphenated serial), `revoked/<serial>`, `crls/<issuer id>` (the last CRL built).
//! Serialized key records are zeroized once written or parsed.

use crate::error::ApiError;
use crate::storage::StorageView;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// One CA certificate the mount can issue with (or only publish, without a key).
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct IssuerEntry {
    pub id: String,
    #[serde(default)]
    pub name: String,
    /// Empty when the mount holds no key for it.
    #[serde(default)]
    pub key_id: String,
    /// PEM.
    pub certificate: String,
    /// PEMs of the chain above this certificate (issuer first); empty for a root.
    #[serde(default)]
    pub chain: Vec<String>,
    pub serial_number: String,
    /// Unix seconds of the certificate's notAfter.
    pub not_after: i64,
}

impl IssuerEntry {
    /// Vault's `ca_chain`: this certificate, then the ones above it.
    pub fn ca_chain(&self) -> Vec<String> {
        std::iter::once(self.certificate.clone())
            .chain(self.chain.iter().cloned())
            .collect()
    }
}

/// One private key. Zeroized on drop; Debug shows no key.
#[derive(Clone, Serialize, Deserialize, Zeroize, ZeroizeOnDrop)]
pub struct KeyEntry {
    pub id: String,
    #[serde(default)]
    pub name: String,
    pub key_type: String,
    pub key_bits: u32,
    /// PEM, in the form Vault returns for the type.
    pub private_key: String,
}

impl std::fmt::Debug for KeyEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyEntry")
            .field("id", &self.id)
            .field("key_type", &self.key_type)
            .field("private_key", &"<redacted>")
            .finish()
    }
}

/// A default reference (`config/issuers`, `config/keys`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Defaults {
    #[serde(default)]
    pub default: String,
}

/// `config/urls`.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Urls {
    #[serde(default)]
    pub issuing_certificates: Vec<String>,
    #[serde(default)]
    pub crl_distribution_points: Vec<String>,
    #[serde(default)]
    pub ocsp_servers: Vec<String>,
    #[serde(default)]
    pub enable_templating: bool,
}

/// An issued certificate (`certs/<serial>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CertRecord {
    /// PEM.
    pub certificate: String,
    #[serde(default)]
    pub issuer_id: String,
    /// Unix seconds of notAfter.
    pub not_after: i64,
}

/// A revocation (`revoked/<serial>`).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Revoked {
    pub serial_number: String,
    /// Unix seconds.
    pub revocation_time: i64,
    #[serde(default)]
    pub issuer_id: String,
    /// Unix seconds of the certificate's notAfter (tidy drops the entry after it).
    pub not_after: i64,
}

/// The last CRL built for an issuer (`crls/<id>`).
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct CrlRecord {
    pub number: u64,
    /// DER, base64 in the record.
    #[serde(default)]
    pub der: String,
}

pub const ISSUER_PREFIX: &str = "config/issuer/";
pub const KEY_PREFIX: &str = "config/key/";
pub const ISSUERS_DEFAULT: &str = "config/issuers";
pub const KEYS_DEFAULT: &str = "config/keys";
pub const URLS: &str = "config/urls";
pub const ROLE_PREFIX: &str = "role/";
pub const CERTS_PREFIX: &str = "certs/";
pub const REVOKED_PREFIX: &str = "revoked/";
pub const CRL_PREFIX: &str = "crls/";

/// The JSON record at `path`, if any.
pub async fn get<T: DeserializeOwned>(s: &StorageView, path: &str) -> Result<Option<T>, ApiError> {
    let Some(mut bytes) = s.get(path).await? else {
        return Ok(None);
    };
    let parsed = serde_json::from_slice(&bytes);
    bytes.zeroize();
    parsed
        .map(Some)
        .map_err(|e| ApiError::Internal(format!("corrupt pki record {path}: {e}")))
}

/// Store `value` as JSON at `path`.
pub async fn put<T: Serialize>(s: &StorageView, path: &str, value: &T) -> Result<(), ApiError> {
    let mut bytes = serde_json::to_vec(value).map_err(ApiError::internal)?;
    let result = s.put(path, &bytes).await;
    bytes.zeroize();
    result
}

/// Every issuer, in id order.
pub async fn issuers(s: &StorageView) -> Result<Vec<IssuerEntry>, ApiError> {
    let mut out = Vec::new();
    for id in s.list(ISSUER_PREFIX).await? {
        if let Some(issuer) = get(s, &format!("{ISSUER_PREFIX}{id}")).await? {
            out.push(issuer);
        }
    }
    Ok(out)
}

/// Every key, in id order.
pub async fn keys(s: &StorageView) -> Result<Vec<KeyEntry>, ApiError> {
    let mut out = Vec::new();
    for id in s.list(KEY_PREFIX).await? {
        if let Some(key) = get(s, &format!("{KEY_PREFIX}{id}")).await? {
            out.push(key);
        }
    }
    Ok(out)
}

/// The default issuer's id ("" when none).
pub async fn default_issuer(s: &StorageView) -> Result<String, ApiError> {
    Ok(get::<Defaults>(s, ISSUERS_DEFAULT)
        .await?
        .unwrap_or_default()
        .default)
}

/// An issuer by reference: `default`, its id or its name.
pub async fn issuer_by_ref(s: &StorageView, r: &str) -> Result<Option<IssuerEntry>, ApiError> {
    let r = if r == "default" || r.is_empty() {
        default_issuer(s).await?
    } else {
        r.to_string()
    };
    if r.is_empty() {
        return Ok(None);
    }
    if let Some(found) = get(s, &format!("{ISSUER_PREFIX}{r}")).await? {
        return Ok(Some(found));
    }
    Ok(issuers(s).await?.into_iter().find(|i| i.name == r))
}

/// A key by reference: `default`, its id or its name.
pub async fn key_by_ref(s: &StorageView, r: &str) -> Result<Option<KeyEntry>, ApiError> {
    let r = if r == "default" || r.is_empty() {
        get::<Defaults>(s, KEYS_DEFAULT)
            .await?
            .unwrap_or_default()
            .default
    } else {
        r.to_string()
    };
    if r.is_empty() {
        return Ok(None);
    }
    if let Some(found) = get(s, &format!("{KEY_PREFIX}{r}")).await? {
        return Ok(Some(found));
    }
    Ok(keys(s).await?.into_iter().find(|k| k.name == r))
}
