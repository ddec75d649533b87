//! `metadata/<path>`: read, update, patch, list and delete a secret's metadata (the last removes
//! every version too).

use super::input::{custom_metadata, field_bool, field_duration, field_u32, merge_patch};
use super::model::{key_meta_json, KeyMeta};
use super::{load_config, load_meta, meta_key, not_found, prune_versions, save_meta};
use crate::clock;
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

/// The settable fields of a metadata write or patch, parsed and validated up front.
#[derive(Default)]
struct MetaUpdate {
    max_versions: Option<u32>,
    cas_required: Option<bool>,
    delete_version_after_secs: Option<u64>,
    custom_metadata: Option<Value>,
}

impl MetaUpdate {
    fn parse(body: &Map<String, Value>) -> Result<MetaUpdate, ApiError> {
        let dva = field_duration(body, "delete_version_after")?
            .map(|d| {
                u64::try_from(d)
                    .map_err(|_| ApiError::bad("delete_version_after cannot be negative"))
            })
            .transpose()?;
        let custom = body
            .get("custom_metadata")
            .filter(|v| !v.is_null())
            .cloned();
        Ok(MetaUpdate {
            max_versions: field_u32(body, "max_versions")?,
            cas_required: field_bool(body, "cas_required")?,
            delete_version_after_secs: dva,
            custom_metadata: custom,
        })
    }

    fn is_empty(&self) -> bool {
        self.max_versions.is_none()
            && self.cas_required.is_none()
            && self.delete_version_after_secs.is_none()
            && self.custom_metadata.is_none()
    }

    /// Apply to `meta`. `merge` (patch) merges custom metadata instead of replacing it.
    fn apply(self, meta: &mut KeyMeta, merge: bool) -> Result<(), ApiError> {
        if let Some(raw) = &self.custom_metadata {
            meta.custom_metadata = Some(new_custom(meta, raw, merge)?);
        }
        if let Some(m) = self.max_versions {
            meta.max_versions = m;
        }
        if let Some(c) = self.cas_required {
            meta.cas_required = c;
        }
        if let Some(d) = self.delete_version_after_secs {
            meta.delete_version_after_secs = d;
        }
        Ok(())
    }
}

fn new_custom(
    meta: &KeyMeta,
    raw: &Value,
    merge: bool,
) -> Result<BTreeMap<String, String>, ApiError> {
    if !merge {
        return custom_metadata(raw, false);
    }
    if !raw.is_object() {
        return custom_metadata(raw, true);
    }
    let current = meta.custom_metadata.clone().unwrap_or_default();
    let mut merged = json!(current);
    merge_patch(&mut merged, raw);
    custom_metadata(&merged, true)
}

/// A warning Vault gives when a key tries to opt out of a mount-wide `cas_required`.
async fn cas_warning(
    mreq: &MountRequest<'_>,
    update: &MetaUpdate,
) -> Result<Option<Response>, ApiError> {
    if update.cas_required == Some(false) && load_config(mreq.storage).await?.cas_required {
        let mut resp = Response::default();
        resp.warnings.push(
            "\"cas_required\" set to false, but is mandated by backend config. This value will be ignored."
                .into(),
        );
        return Ok(Some(resp));
    }
    Ok(None)
}

/// `GET metadata/<path>`.
pub(super) async fn read(mreq: &MountRequest<'_>, key: &str) -> Result<Option<Response>, ApiError> {
    let meta = load_meta(mreq.storage, key).await?.ok_or_else(not_found)?;
    Ok(Some(Response::data(key_meta_json(&meta))))
}

/// `POST metadata/<path>`: set the given fields, creating the metadata if needed. A body with
/// none of the fields writes nothing.
pub(super) async fn write(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    if key.is_empty() {
        return Err(ApiError::bad("missing path"));
    }
    let update = MetaUpdate::parse(&mreq.req.data)?;
    if update.is_empty() {
        return Ok(None);
    }
    let resp = cas_warning(mreq, &update).await?;
    let mut meta = match load_meta(mreq.storage, key).await? {
        Some(meta) => meta,
        None => KeyMeta::new(&clock::now_rfc3339()),
    };
    update.apply(&mut meta, false)?;
    save_meta(mreq.storage, key, &meta).await?;
    Ok(resp)
}

/// `PATCH metadata/<path>`: like a write, but the metadata must exist and `custom_metadata` is
/// merged (a null value removes that key).
pub(super) async fn patch(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    if key.is_empty() {
        return Err(ApiError::bad("missing path"));
    }
    let update = MetaUpdate::parse(&mreq.req.data)?;
    let mut meta = load_meta(mreq.storage, key).await?.ok_or_else(not_found)?;
    let resp = cas_warning(mreq, &update).await?;
    update.apply(&mut meta, true)?;
    save_meta(mreq.storage, key, &meta).await?;
    Ok(resp)
}

/// `DELETE metadata/<path>`: remove every version's data, then the metadata.
pub(super) async fn delete(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    if load_meta(mreq.storage, key).await?.is_none() {
        return Ok(None);
    }
    prune_versions(mreq.storage, key, u64::MAX).await?;
    mreq.storage.delete(&meta_key(key)).await?;
    Ok(None)
}

/// `LIST metadata/<folder>`: the secrets and sub-folders (with a trailing `/`) in the folder.
pub(super) async fn list(mreq: &MountRequest<'_>, key: &str) -> Result<Option<Response>, ApiError> {
    let mut folder = key.to_string();
    if !folder.is_empty() && !folder.ends_with('/') {
        folder.push('/');
    }
    let keys = mreq.storage.list(&meta_key(&folder)).await?;
    if keys.is_empty() {
        return Err(not_found());
    }
    Ok(Some(Response::data(json!({ "keys": keys }))))
}
