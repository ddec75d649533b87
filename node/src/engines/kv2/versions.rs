//! `delete/<path>`, `undelete/<path>` and `destroy/<path>`: act on listed versions of a secret.

use super::input::field_versions;
use super::model::{deletion_time, is_gone};
use super::{load_config, load_meta, save_meta, version_key};
use crate::clock;
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;

/// `POST delete/<path>`: soft-delete the listed versions (skipping missing and gone ones).
pub(super) async fn delete(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    let versions = field_versions(&mreq.req.data, "No version number provided")?;
    let Some(mut meta) = load_meta(mreq.storage, key).await? else {
        return Ok(None);
    };
    let now = clock::now();
    for n in versions {
        if let Some(vm) = meta.versions.get_mut(&n).filter(|vm| !is_gone(vm, now)) {
            vm.deletion_time = clock::rfc3339(now);
            vm.deleted = true;
        }
    }
    save_meta(mreq.storage, key, &meta).await?;
    Ok(None)
}

/// `POST undelete/<path>`: clear the deletion time of the listed versions that are not
/// destroyed (re-arming `delete_version_after` from now, if one applies).
pub(super) async fn undelete(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    let versions = field_versions(&mreq.req.data, "No version number provided")?;
    let cfg = load_config(mreq.storage).await?;
    let Some(mut meta) = load_meta(mreq.storage, key).await? else {
        return Ok(None);
    };
    let rearmed = deletion_time(
        clock::now(),
        cfg.delete_version_after_secs,
        meta.delete_version_after_secs,
    )
    .map(clock::rfc3339)
    .unwrap_or_default();
    for n in versions {
        if let Some(vm) = meta.versions.get_mut(&n).filter(|vm| !vm.destroyed) {
            vm.deletion_time = rearmed.clone();
            vm.deleted = false;
        }
    }
    save_meta(mreq.storage, key, &meta).await?;
    Ok(None)
}

/// `POST destroy/<path>`: mark the listed versions destroyed, then remove their data for good.
pub(super) async fn destroy(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    let versions = field_versions(&mreq.req.data, "no version number provided")?;
    let Some(mut meta) = load_meta(mreq.storage, key).await? else {
        return Ok(None);
    };
    for n in &versions {
        if let Some(vm) = meta.versions.get_mut(n) {
            vm.destroyed = true;
        }
    }
    save_meta(mreq.storage, key, &meta).await?;
    for n in versions {
        mreq.storage.delete(&version_key(key, n)).await?;
    }
    Ok(None)
}
