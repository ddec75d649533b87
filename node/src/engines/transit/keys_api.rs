//! `keys/` (list), `keys/<name>` (create, read, delete), `keys/<name>/config`,
//! `keys/<name>/rotate` and `keys/<name>/trim` (`keys/<name>/import*`: `import_api.rs`).

use super::batch::{boolean, int};
use super::key::{ConfigUpdate, TransitKey};
use super::options::{auto_rotate_period, create_options};
use super::{auto_rotate, import_api, is_write, key_name, store, unsupported_path, Transit};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::{Operation, Response};
use serde_json::json;

/// Dispatch `keys/<rest>`.
pub async fn route(
    engine: &Transit,
    m: &MountRequest<'_>,
    rest: &str,
) -> Result<Option<Response>, ApiError> {
    let op = m.req.operation;
    if rest.is_empty() {
        return match op {
            Operation::List => list(m).await,
            _ => Err(ApiError::UnsupportedOperation),
        };
    }
    let (name, action) = rest.split_once('/').unwrap_or((rest, ""));
    let name = key_name(name)?;
    match action {
        "" => match op {
            Operation::Read => read(engine, m, name).await,
            Operation::Delete => delete(engine, m, name).await,
            o if is_write(o) => create(engine, m, name).await,
            _ => Err(ApiError::UnsupportedOperation),
        },
        "config" | "rotate" | "trim" | "import" | "import_version" if !is_write(op) => {
            Err(ApiError::UnsupportedOperation)
        }
        "config" => config(engine, m, name).await,
        "import" => import_api::import(engine, m, name).await,
        "import_version" => import_api::import_version(engine, m, name).await,
        "rotate" => rotate(engine, m, name).await,
        "trim" => trim(engine, m, name).await,
        _ => Err(unsupported_path()),
    }
}

fn key_response(key: &TransitKey, warnings: Vec<String>) -> Option<Response> {
    let mut resp = Response::data(key.to_json());
    resp.warnings = warnings;
    Some(resp)
}

async fn list(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let keys = store::list(m.storage).await?;
    if keys.is_empty() {
        return Err(ApiError::NotFound(String::new()));
    }
    Ok(Some(Response::data(json!({ "keys": keys }))))
}

async fn read(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    match auto_rotate::load(engine, m.storage, name).await? {
        Some(key) => Ok(key_response(&key, Vec::new())),
        None => Err(ApiError::NotFound(String::new())),
    }
}

async fn create(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    let (kind, opts) = create_options(data)?;
    let period = auto_rotate_period(data)?;
    let _guard = engine.writes.lock().await;
    if let Some(existing) = store::load(m.storage, name).await? {
        return Ok(key_response(
            &existing,
            vec![format!("key {name} already existed")],
        ));
    }
    let mut key = TransitKey::create(name, kind, opts).await?;
    if period.is_some() {
        key.configure(&ConfigUpdate {
            auto_rotate_period: period,
            ..Default::default()
        })?;
    }
    store::save(m.storage, &key).await?;
    Ok(key_response(&key, Vec::new()))
}

async fn delete(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let _guard = engine.writes.lock().await;
    let key = store::load(m.storage, name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("error deleting policy {name}: key not found")))?;
    if !key.deletion_allowed {
        return Err(ApiError::bad(format!(
            "error deleting policy {name}: deletion is not allowed for this policy"
        )));
    }
    store::delete(m.storage, name).await?;
    Ok(None)
}

async fn config(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    let present = |k: &str| data.get(k).is_some_and(|v| !v.is_null());
    let int_field = |k: &str| -> Result<Option<i64>, ApiError> {
        if present(k) {
            int(data, k).map(Some).map_err(ApiError::BadRequest)
        } else {
            Ok(None)
        }
    };
    let bool_field = |k: &str| -> Result<Option<bool>, ApiError> {
        if present(k) {
            boolean(data, k, false)
                .map(Some)
                .map_err(ApiError::BadRequest)
        } else {
            Ok(None)
        }
    };
    let update = ConfigUpdate {
        min_decryption_version: int_field("min_decryption_version")?,
        min_encryption_version: int_field("min_encryption_version")?,
        deletion_allowed: bool_field("deletion_allowed")?,
        exportable: bool_field("exportable")?,
        allow_plaintext_backup: bool_field("allow_plaintext_backup")?,
        auto_rotate_period: auto_rotate_period(data)?,
    };
    let _guard = engine.writes.lock().await;
    let mut key = store::load(m.storage, name)
        .await?
        .ok_or_else(|| ApiError::bad(format!("no existing key named {name} could be found")))?;
    let before = key.clone();
    let warnings = key.configure(&update)?;
    if key != before {
        store::save(m.storage, &key).await?;
    }
    Ok(key_response(&key, warnings))
}

async fn rotate(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let _guard = engine.writes.lock().await;
    let mut key = store::load(m.storage, name)
        .await?
        .ok_or_else(|| ApiError::bad("key not found"))?;
    key.rotate().await?;
    store::save(m.storage, &key).await?;
    Ok(key_response(&key, Vec::new()))
}

async fn trim(
    engine: &Transit,
    m: &MountRequest<'_>,
    name: &str,
) -> Result<Option<Response>, ApiError> {
    let data = &m.req.data;
    if data
        .get("min_available_version")
        .is_none_or(|v| v.is_null())
    {
        return Err(ApiError::bad("missing min_available_version"));
    }
    let min = int(data, "min_available_version").map_err(ApiError::BadRequest)?;
    let _guard = engine.writes.lock().await;
    let mut key = store::load(m.storage, name)
        .await?
        .ok_or_else(|| ApiError::bad("invalid key name"))?;
    key.trim(min)?;
    store::save(m.storage, &key).await?;
    Ok(key_response(&key, Vec::new()))
}
