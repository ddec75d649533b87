//! `wrapping_key` (read: the mount's RSA-4096 public key, made on first use) and
//! `keys/<name>/import`, `keys/<name>/import_version` (BYOK; the format is `import.rs`'s).
//! Importing a bare public key (`public_key`) is not supported: every version here has its
//! private half.

use super::batch::{boolean, int, string, Item};
use super::import::{self, OaepHash};
use super::key::{ConfigUpdate, CreateOptions, TransitKey};
use super::keytype::KeyType;
use super::{options, store, Transit};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use crate::storage::StorageView;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::json;
use zeroize::Zeroizing;

/// An error Vault's import handlers return as a plain Go error, which Vault answers with 500.
fn plain_error(msg: impl Into<String>) -> ApiError {
    ApiError::Internal(msg.into())
}

/// The wrapping key, generated (RSA-4096) and stored at `store::WRAPPING_KEY_PATH` on first
/// use. Callers hold the mount's write lock.
async fn wrapping_key(storage: &StorageView) -> Result<TransitKey, ApiError> {
    if let Some(key) = store::load_at(storage, store::WRAPPING_KEY_PATH, "wrapping key").await? {
        return Ok(key);
    }
    let key = TransitKey::create("import", KeyType::Rsa4096, CreateOptions::default()).await?;
    store::save_at(storage, store::WRAPPING_KEY_PATH, &key).await?;
    Ok(key)
}

/// `GET wrapping_key`: `{"public_key": "<PEM>"}`.
pub async fn read_wrapping_key(
    engine: &Transit,
    m: &MountRequest<'_>,
) -> Result<Option<Response>, ApiError> {
    let _guard = engine.writes.lock().await;
    let key = wrapping_key(m.storage).await?;
    let latest = key.version(key.latest_version)?;
    Ok(Some(Response::data(
        json!({ "public_key": latest.public_key }),
    )))
}

/// The key material of an import request: the `ciphertext` unwrapped with the wrapping key.
async fn material(m: &MountRequest<'_>) -> Result<Zeroizing<Vec<u8>>, ApiError> {
    let data = &m.req.data;
    let has = |k: &str| data.get(k).is_some_and(|v| !v.is_null());
    if has("ciphertext") && has("public_key") {
        return Err(plain_error(
            "only one of the following fields, ciphertext and public_key, can be set",
        ));
    }
    if has("public_key") {
        return Err(ApiError::bad(
            "importing a public key alone is not supported by this server",
        ));
    }
    let hash = OaepHash::parse(
        &string(data, "hash_function")
            .map_err(ApiError::BadRequest)?
            .unwrap_or_default(),
    )?;
    let encoded = string(data, "ciphertext")
        .map_err(ApiError::BadRequest)?
        .ok_or_else(|| ApiError::bad("missing ciphertext"))?;
    let ciphertext = STANDARD
        .decode(encoded.trim())
        .map_err(|e| ApiError::bad(format!("error decoding ciphertext: {e}")))?;
    let wrapping = wrapping_key(m.storage).await?;
    let private = wrapping.version(wrapping.latest_version)?.rsa()?;
    Ok(import::unwrap(&private, &ciphertext, hash)?)
}

fn create_options(data: &Item) -> Result<(KeyType, CreateOptions, bool), ApiError> {
    let (kind, opts) = options::create_options(data)?;
    let allow_rotation = boolean(data, "allow_rotation", false).map_err(ApiError::BadRequest)?;
    Ok((kind, opts, allow_rotation))
}

/// `POST keys/<name>/import`: a new key whose first version is the given material.
pub async fn import(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    if data.contains_key("convergent_encryption") {
        return Err(plain_error(
            "import cannot be used on keys with convergent encryption enabled",
        ));
    }
    let (kind, opts, allow_rotation) = create_options(data)?;
    let period = options::auto_rotate_period(data)?;
    if period.is_some_and(|p| p > 0) && !allow_rotation {
        return Err(plain_error(
            "allow_rotation must be set to true if auto-rotation is enabled",
        ));
    }
    let _guard = engine.writes.lock().await;
    if store::load(m.storage, name).await?.is_some() {
        return Err(plain_error(
            "the import path cannot be used with an existing key; use import-version to rotate an existing imported key",
        ));
    }
    let material = material(m).await?;
    let version = import::version_from_material(kind, &material)?;
    // The options are checked as a create checks them; the imported version is the first.
    let mut key = TransitKey::unversioned(name, kind, opts)?;
    key.push_version(version);
    key.imported = true;
    key.allow_imported_key_rotation = allow_rotation;
    if let Some(size) = (kind == KeyType::Hmac).then(|| material.len()) {
        key.key_size = u32::try_from(size).unwrap_or(0);
    }
    if period.is_some() {
        key.configure(&ConfigUpdate {
            auto_rotate_period: period,
            ..Default::default()
        })?;
    }
    store::save(m.storage, &key).await?;
    Ok(None)
}

/// `POST keys/<name>/import_version`: a new latest version of an imported key.
pub async fn import_version(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    if int(data, "version").map_err(ApiError::BadRequest)? != 0 {
        return Err(ApiError::bad(
            "updating an existing version is not supported by this server: every version already has its private key",
        ));
    }
    let _guard = engine.writes.lock().await;
    let mut key = store::load(m.storage, name).await?.ok_or_else(|| {
        plain_error(format!(
            "no key found with name {name}; to import a new key, use the import/ endpoint"
        ))
    })?;
    if !key.imported {
        return Err(plain_error(
            "the import_version endpoint can only be used with an imported key",
        ));
    }
    if key.convergent_encryption {
        return Err(plain_error(
            "import_version cannot be used on keys with convergent encryption enabled",
        ));
    }
    let material = material(m).await?;
    key.push_version(import::version_from_material(key.kind, &material)?);
    store::save(m.storage, &key).await?;
    Ok(None)
}
