//! Secret engines. Each owns the paths inside its mount and sees only its own `StorageView`.

pub mod cubbyhole;
pub mod kv1;
pub mod kv2;
pub mod transit;

use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::request::{Request, Response};
use crate::storage::StorageView;
use async_trait::async_trait;

/// One call routed into a mount.
pub struct MountRequest<'a> {
    /// The original request (operation, data, token, headers).
    pub req: &'a Request,
    /// The path relative to the mount, without leading slash (`data/app/db` for `secret/data/app/db`).
    pub path: &'a str,
    /// The mount's private storage.
    pub storage: &'a StorageView,
    /// The mount table entry (type, options, config).
    pub mount: &'a MountEntry,
}

/// A secrets engine (a Vault "logical backend").
#[async_trait]
pub trait SecretEngine: Send + Sync {
    /// Handle one request. `Ok(None)` answers 204.
    async fn handle(&self, mreq: MountRequest<'_>) -> Result<Option<Response>, ApiError>;

    /// Whether the entry a create/update would write already exists (Vault's existence check):
    /// `Some(true)` → the ACL checks `update`, `Some(false)` → `create`, `None` → `update`.
    async fn exists(&self, _mreq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        Ok(None)
    }
}
