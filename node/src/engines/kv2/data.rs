//! `data/<path>` (read, write, patch, soft-delete of the latest version) and `subkeys/<path>`.

use super::input::{field_int, field_object, merge_patch, strip_values};
use super::model::{add_version, check_cas, deletion_time, is_gone, version_json};
use super::model::{KeyMeta, KvConfig, VersionMeta};
use super::version_key;
use super::{envelope, load_config, load_meta, meta_key, not_found, prune_versions, save_meta};
use crate::clock;
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::Response;
use serde_json::{json, Map, Value};

/// What a read finds at a version of a secret.
enum Lookup {
    /// No metadata, or no such version (never written, or trimmed).
    Missing,
    /// The version exists but is deleted or destroyed; carries its metadata object.
    Gone(Value),
    /// The version's metadata object and data.
    Live(Value, Map<String, Value>),
}

/// The version a read asks for (`?version=N`; absent or 0 means the current one).
fn requested_version(mreq: &MountRequest<'_>, meta: &KeyMeta) -> Result<u64, ApiError> {
    let asked = field_int(&mreq.req.data, "version")?.unwrap_or(0);
    Ok(u64::try_from(asked)
        .ok()
        .filter(|v| *v > 0)
        .unwrap_or(meta.current_version))
}

async fn lookup(mreq: &MountRequest<'_>, key: &str) -> Result<Lookup, ApiError> {
    let Some(meta) = load_meta(mreq.storage, key).await? else {
        return Ok(Lookup::Missing);
    };
    let version = requested_version(mreq, &meta)?;
    let Some(vm) = meta.versions.get(&version) else {
        return Ok(Lookup::Missing);
    };
    let vjson = version_json(version, vm, &meta);
    if is_gone(vm, clock::now()) {
        return Ok(Lookup::Gone(vjson));
    }
    let data = mreq
        .storage
        .get_json(&version_key(key, version))
        .await?
        .ok_or_else(|| ApiError::internal("could not find version data"))?;
    Ok(Lookup::Live(vjson, data))
}

/// `GET data/<path>`: the version's data and metadata; a deleted or destroyed version answers
/// 404 with `data: null` and its metadata, as Vault does.
pub(super) async fn read(mreq: &MountRequest<'_>, key: &str) -> Result<Option<Response>, ApiError> {
    match lookup(mreq, key).await? {
        Lookup::Missing => Err(not_found()),
        Lookup::Gone(m) => Ok(Some(envelope(
            mreq.req,
            404,
            json!({"data": null, "metadata": m}),
        ))),
        Lookup::Live(m, d) => Ok(Some(Response::data(json!({"data": d, "metadata": m})))),
    }
}

/// `GET subkeys/<path>`: the data's key structure with every value replaced by null.
pub(super) async fn subkeys(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    let depth = field_int(&mreq.req.data, "depth")?.unwrap_or(0);
    let depth = u64::try_from(depth).map_err(|_| ApiError::bad("depth must be non-negative"))?;
    match lookup(mreq, key).await? {
        Lookup::Missing => Err(not_found()),
        Lookup::Gone(m) => Ok(Some(envelope(
            mreq.req,
            404,
            json!({"subkeys": null, "metadata": m}),
        ))),
        Lookup::Live(m, mut d) => {
            strip_values(&mut d, depth);
            Ok(Some(Response::data(json!({"subkeys": d, "metadata": m}))))
        }
    }
}

/// The `options.cas` value of a write or patch body, after checking `options` is an object.
fn cas_option(body: &Map<String, Value>) -> Result<Option<&Value>, ApiError> {
    Ok(field_object(body, "options")?.and_then(|o| o.get("cas")))
}

/// `POST/PUT data/<path>`: store `data` as a new version, subject to check-and-set.
pub(super) async fn write(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    let body = &mreq.req.data;
    let data = field_object(body, "data")?.ok_or_else(|| ApiError::bad("no data provided"))?;
    let cas = cas_option(body)?;
    let cfg = load_config(mreq.storage).await?;
    let meta = load_meta(mreq.storage, key).await?.unwrap_or_default();
    check_cas(cas, cfg.cas_required, &meta)?;
    commit_version(mreq, key, &cfg, meta, data).await.map(Some)
}

/// `PATCH data/<path>`: merge `data` (RFC 7386) into the current version as a new version.
/// The secret and its current version must exist and be live.
pub(super) async fn patch(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    let body = &mreq.req.data;
    let patch = field_object(body, "data")?.ok_or_else(|| ApiError::bad("no data provided"))?;
    let cas = cas_option(body)?;
    let Some(meta) = load_meta(mreq.storage, key).await? else {
        return Err(not_found());
    };
    let cfg = load_config(mreq.storage).await?;
    check_cas(cas, cfg.cas_required, &meta)?;
    let current = meta.current_version;
    let Some(vm) = meta.versions.get(&current) else {
        return Err(not_found());
    };
    if is_gone(vm, clock::now()) {
        return Ok(Some(envelope(
            mreq.req,
            404,
            version_json(current, vm, &meta),
        )));
    }
    let stored: Map<String, Value> = mreq
        .storage
        .get_json(&version_key(key, current))
        .await?
        .ok_or_else(|| ApiError::internal("could not find version data"))?;
    let mut merged = Value::Object(stored);
    merge_patch(&mut merged, &Value::Object(patch.clone()));
    let Value::Object(merged) = merged else {
        return Err(ApiError::internal(
            "merge patch of an object yielded a non-object",
        ));
    };
    commit_version(mreq, key, &cfg, meta, &merged)
        .await
        .map(Some)
}

/// Write `data` as version `current + 1`, then the metadata, then prune versions beyond the
/// limit. A failed prune is a warning (the write itself succeeded; the next one retries it).
async fn commit_version(
    mreq: &MountRequest<'_>,
    key: &str,
    cfg: &KvConfig,
    mut meta: KeyMeta,
    data: &Map<String, Value>,
) -> Result<Response, ApiError> {
    let now = clock::now();
    let vm = VersionMeta {
        created_time: clock::rfc3339(now),
        deletion_time: deletion_time(
            now,
            cfg.delete_version_after_secs,
            meta.delete_version_after_secs,
        )
        .map(clock::rfc3339)
        .unwrap_or_default(),
        deleted: false,
        destroyed: false,
    };
    let version = meta.current_version + 1;
    let dropped = add_version(&mut meta, vm.clone(), cfg.max_versions);
    // The version's data and the metadata that points at it go in one replicated write: one
    // commit round instead of two, and never metadata without its data.
    let data_json = serde_json::to_vec(data).map_err(ApiError::internal)?;
    let meta_json = serde_json::to_vec(&meta).map_err(ApiError::internal)?;
    let (data_path, meta_path) = (version_key(key, version), meta_key(key));
    mreq.storage
        .put_many(&[(&data_path, &data_json), (&meta_path, &meta_json)])
        .await?;
    let mut resp = Response::data(version_json(version, &vm, &meta));
    if !dropped.is_empty() {
        if let Err(e) = prune_versions(mreq.storage, key, meta.oldest_version).await {
            resp.warnings.push(format!(
                "error occurred when cleaning up old versions, these will be cleaned up on next write: {e}"
            ));
        }
    }
    Ok(resp)
}

/// `DELETE data/<path>`: soft-delete the current version (no-op if already gone or absent).
pub(super) async fn delete_latest(
    mreq: &MountRequest<'_>,
    key: &str,
) -> Result<Option<Response>, ApiError> {
    let Some(mut meta) = load_meta(mreq.storage, key).await? else {
        return Ok(None);
    };
    let now = clock::now();
    let current = meta.current_version;
    match meta.versions.get_mut(&current) {
        Some(vm) if !is_gone(vm, now) && !coffer_raft::mutant::mutant("kv_delete_ignored") => {
            vm.deletion_time = clock::rfc3339(now);
            vm.deleted = true;
        }
        _ => return Ok(None),
    }
    save_meta(mreq.storage, key, &meta).await?;
    Ok(None)
}
