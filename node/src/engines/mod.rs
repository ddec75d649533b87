//! Secret engines. Each owns the paths inside its mount and sees only its own `StorageView`.

pub mod cubbyhole;
pub mod kv1;
pub mod kv2;
pub mod pki;
pub mod transit;

use crate::error::ApiError;
use crate::request::{Operation, Response};
use async_trait::async_trait;

pub use crate::mounts::MountRequest;

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

    /// Whether `op` on `path` (relative to the mount) needs no token (Vault's
    /// `PathsSpecial.Unauthenticated` of the backend, e.g. PKI's CA and CRL).
    fn is_unauthenticated(&self, _path: &str, _op: Operation) -> bool {
        false
    }
}
