//! KV v2: versioned secrets, Vault's `kv` engine with `version=2` (API of Vault 1.16 as the
//! `hvac` client calls it).
//!
//! # Paths (relative to the mount)
//! `config`, `data/<path>`, `metadata/<path>`, `delete/<path>`, `undelete/<path>`,
//! `destroy/<path>`, `subkeys/<path>`. Anything else is a 404 `unsupported path`; a known path
//! with an operation it does not take is a 405.
//!
//! # Storage layout (inside the mount's `StorageView`)
//! - `config`: [`model::KvConfig`] as JSON, the mount-wide `max_versions`, `cas_required` and
//!   `delete_version_after`. Absent means all defaults.
//! - `meta/<path>`: [`model::KeyMeta`] as JSON, one entry per secret: version numbers, per-version
//!   created/deletion time and destroyed flag, the key's own settings and custom metadata. These
//!   keys mirror the user's paths, so `LIST metadata/<folder>/` is a plain storage list of
//!   `meta/<folder>/`, folders coming back with their trailing `/` as Vault returns them.
//! - `versions/<hex sha256(path)>/<n>`: version `n`'s data object as JSON, one entry per version.
//!   Hashing the path gives every secret one flat folder of versions whatever its depth, so
//!   cleanup can list it and remove exactly that secret's versions. Destroy, `max_versions`
//!   trimming and metadata delete remove these entries from storage for real.
//!
//! # Ordering and concurrency
//! A write puts the version entry before the metadata that points at it (a crash in between
//! leaves an unreferenced entry the next write of that number overwrites). Destroy saves the
//! metadata (marked destroyed) before deleting data. Every operation on one secret runs under a
//! per-key lock (read lock for reads) so check-and-set and version numbering are atomic; the
//! locks are a fixed set of stripes keyed by a hash of storage prefix and path, so the engine
//! itself still holds no state.

mod config;
mod data;
mod input;
mod metadata;
mod model;
#[cfg(test)]
mod testkit;
#[cfg(test)]
mod tests;
mod versions;

use self::model::{KeyMeta, KvConfig};
use super::{MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::storage::StorageView;
use async_trait::async_trait;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use tokio::sync::RwLock;

/// The KV v2 engine of one mount. Its only state is the lock stripes that serialise writes to one
/// secret (so concurrent CAS writes see each other); everything else lives in the mount's storage.
pub struct KvV2 {
    locks: [RwLock<()>; LOCK_STRIPES],
}

impl Default for KvV2 {
    fn default() -> Self {
        KvV2 {
            locks: std::array::from_fn(|_| RwLock::new(())),
        }
    }
}

/// Which endpoint a mount-relative path names, with the secret path it carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Route<'a> {
    Config,
    Data(&'a str),
    Metadata(&'a str),
    Delete(&'a str),
    Undelete(&'a str),
    Destroy(&'a str),
    Subkeys(&'a str),
}

impl<'a> Route<'a> {
    fn parse(path: &'a str) -> Option<Route<'a>> {
        if path == "config" {
            return Some(Route::Config);
        }
        let (head, key) = path.split_once('/')?;
        Some(match head {
            // Vault's data pattern needs a non-empty path that does not end in `/`.
            "data" if !key.is_empty() && !key.ends_with('/') => Route::Data(key),
            "metadata" => Route::Metadata(key),
            "delete" => Route::Delete(key),
            "undelete" => Route::Undelete(key),
            "destroy" => Route::Destroy(key),
            "subkeys" => Route::Subkeys(key),
            _ => return None,
        })
    }

    /// The secret path this route works on, if any.
    fn key(self) -> Option<&'a str> {
        match self {
            Route::Config => None,
            Route::Data(k)
            | Route::Metadata(k)
            | Route::Delete(k)
            | Route::Undelete(k)
            | Route::Destroy(k)
            | Route::Subkeys(k) => Some(k),
        }
    }
}

const LOCK_STRIPES: usize = 64;
impl KvV2 {
    /// The lock stripe guarding secret `key`.
    fn key_lock(&self, key: &str) -> &RwLock<()> {
        let digest = Sha256::digest(key.as_bytes());
        &self.locks[usize::from(digest[0]) % LOCK_STRIPES]
    }
}

#[async_trait]
impl SecretEngine for KvV2 {
    async fn handle(&self, mreq: MountRequest<'_>) -> Result<Option<Response>, ApiError> {
        let route =
            Route::parse(mreq.path).ok_or_else(|| ApiError::NotFound("unsupported path".into()))?;
        let op = mreq.req.operation;
        let Some(key) = route.key() else {
            return config::handle(&mreq, op).await;
        };
        let lock = self.key_lock(key);
        if matches!(op, Operation::Read | Operation::List) {
            let _shared = lock.read().await;
            dispatch(&mreq, route, op).await
        } else {
            let _exclusive = lock.write().await;
            dispatch(&mreq, route, op).await
        }
    }

    async fn exists(&self, mreq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        match Route::parse(mreq.path) {
            Some(Route::Data(key) | Route::Metadata(key)) => {
                Ok(Some(load_meta(mreq.storage, key).await?.is_some()))
            }
            _ => Ok(None),
        }
    }
}

async fn dispatch(
    mreq: &MountRequest<'_>,
    route: Route<'_>,
    op: Operation,
) -> Result<Option<Response>, ApiError> {
    use Operation::*;
    match (route, op) {
        (Route::Data(k), Read) => data::read(mreq, k).await,
        (Route::Data(k), Create | Update) => data::write(mreq, k).await,
        (Route::Data(k), Patch) => data::patch(mreq, k).await,
        (Route::Data(k), Delete) => data::delete_latest(mreq, k).await,
        (Route::Subkeys(k), Read) => data::subkeys(mreq, k).await,
        (Route::Metadata(k), Read) => metadata::read(mreq, k).await,
        (Route::Metadata(k), Create | Update) => metadata::write(mreq, k).await,
        (Route::Metadata(k), Patch) => metadata::patch(mreq, k).await,
        (Route::Metadata(k), Delete) => metadata::delete(mreq, k).await,
        (Route::Metadata(k), List) => metadata::list(mreq, k).await,
        (Route::Delete(k), Create | Update) => versions::delete(mreq, k).await,
        (Route::Undelete(k), Create | Update) => versions::undelete(mreq, k).await,
        (Route::Destroy(k), Create | Update) => versions::destroy(mreq, k).await,
        _ => Err(ApiError::UnsupportedOperation),
    }
}

/// A 404 with an empty `errors` list: nothing stored there.
fn not_found() -> ApiError {
    ApiError::NotFound(String::new())
}

/// Storage key of a secret's metadata.
fn meta_key(key: &str) -> String {
    format!("meta/{key}")
}

/// Storage folder holding a secret's versions.
fn versions_dir(key: &str) -> String {
    format!("versions/{}/", hex::encode(Sha256::digest(key.as_bytes())))
}

/// Storage key of one version's data.
fn version_key(key: &str, version: u64) -> String {
    format!("{}{version}", versions_dir(key))
}

async fn load_meta(storage: &StorageView, key: &str) -> Result<Option<KeyMeta>, ApiError> {
    storage.get_json(&meta_key(key)).await
}

async fn save_meta(storage: &StorageView, key: &str, meta: &KeyMeta) -> Result<(), ApiError> {
    storage.put_json(&meta_key(key), meta).await
}

async fn load_config(storage: &StorageView) -> Result<KvConfig, ApiError> {
    Ok(storage
        .get_json(config::CONFIG_KEY)
        .await?
        .unwrap_or_default())
}

/// Remove stored versions of `key` numbered below `keep_from` (all of them with `u64::MAX`),
/// oldest first. Listing the folder also catches entries an earlier failed cleanup left.
async fn prune_versions(storage: &StorageView, key: &str, keep_from: u64) -> Result<(), ApiError> {
    let dir = versions_dir(key);
    let mut stored: Vec<u64> = storage
        .list(&dir)
        .await?
        .iter()
        .filter_map(|name| name.parse().ok())
        .filter(|n| *n < keep_from)
        .collect();
    stored.sort_unstable();
    for n in stored {
        storage.delete(&format!("{dir}{n}")).await?;
    }
    Ok(())
}

/// A response whose status is not 200 but whose body still carries data, as Vault sends for a
/// deleted or destroyed version: the whole envelope, built here because it replaces the body.
fn envelope(req: &Request, status: u16, data: Value) -> Response {
    Response::raw_status(
        status,
        json!({
            "request_id": req.id,
            "lease_id": "",
            "renewable": false,
            "lease_duration": 0,
            "data": data,
            "wrap_info": null,
            "warnings": null,
            "auth": null,
        }),
    )
}

#[cfg(test)]
mod route_tests {
    use super::Route;

    #[test]
    fn routes_follow_vault_patterns() {
        assert_eq!(Route::parse("config"), Some(Route::Config));
        assert_eq!(Route::parse("data/a/b"), Some(Route::Data("a/b")));
        assert_eq!(Route::parse("data/a/"), None);
        assert_eq!(Route::parse("data/"), None);
        assert_eq!(Route::parse("data"), None);
        assert_eq!(Route::parse("metadata/"), Some(Route::Metadata("")));
        assert_eq!(Route::parse("metadata/x/"), Some(Route::Metadata("x/")));
        assert_eq!(Route::parse("destroy/x"), Some(Route::Destroy("x")));
        assert_eq!(Route::parse("subkeys/x"), Some(Route::Subkeys("x")));
        assert_eq!(Route::parse("bogus/x"), None);
        assert_eq!(Route::parse("config/x"), None);
    }
}
