//! `backup/<name>` (read) and `restore[/<name>]` (write, with `backup`, optional `name` and
//! `force`), as Vault's transit has them. The blob's format and why it is plaintext: `backup.rs`.

use super::batch::{boolean, string};
use super::{backup, key_name, store, unsupported_path, Transit};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use serde_json::json;

/// `GET backup/<name>`
pub async fn backup(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let name = key_name(name)?;
    let _guard = engine.writes.lock().await;
    let key = store::load(m.storage, name)
        .await?
        .ok_or_else(|| ApiError::Internal(format!("key {name:?} not found")))?;
    let blob = backup::encode(&key)?;
    Ok(Some(Response::data(json!({ "backup": blob.as_str() }))))
}

/// `POST restore[/<name>]`: the key of the blob, under its own name or the one given. An
/// existing key is replaced only with `force` (Vault's refusal otherwise, a 500 as in Vault).
pub async fn restore(
    engine: &Transit,
    m: &MountRequest<'_>,
    url_name: &str,
) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    let blob = string(data, "backup")
        .map_err(ApiError::BadRequest)?
        .ok_or_else(|| ApiError::bad("'backup' must be supplied"))?;
    let force = boolean(data, "force", false).map_err(ApiError::BadRequest)?;
    let name = match url_name {
        "" => string(data, "name").map_err(ApiError::BadRequest)?,
        n => Some(n.to_string()),
    };
    if let Some(name) = &name {
        if name.contains('/') {
            return Err(ApiError::Internal("key names cannot be paths".into()));
        }
        if !store::valid_name(name) {
            return Err(unsupported_path());
        }
    }
    let key = backup::decode(&blob, name.as_deref())?;
    if !store::valid_name(&key.name) {
        return Err(ApiError::bad("invalid backup: invalid key name"));
    }
    let _guard = engine.writes.lock().await;
    if !force && store::load(m.storage, &key.name).await?.is_some() {
        return Err(ApiError::Internal(format!(
            "key {:?} already exists",
            key.name
        )));
    }
    store::save(m.storage, &key).await?;
    Ok(None)
}
