//! Secret engines. Each owns the paths inside its mount and sees only its own `StorageView`.

pub mod cubbyhole;
pub mod database;
pub mod kv1;
pub mod kv2;
pub mod pki;
pub mod transit;

use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::request::{Operation, Response};
use crate::storage::StorageView;
use async_trait::async_trait;
use serde_json::{Map, Value};

pub use crate::mounts::MountRequest;
pub use crate::request::SecretLease;

/// One call from the lease manager into the engine that issued a lease.
pub struct LeaseCall<'a> {
    /// The mount's private storage.
    pub storage: &'a StorageView,
    /// The mount table entry.
    pub mount: &'a MountEntry,
    /// The lease's `internal` data, as the engine attached it.
    pub internal: &'a Map<String, Value>,
    /// Renewals: the seconds asked for (`increment`), 0 for the lease's own TTL.
    pub increment_secs: u64,
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

    /// Whether `op` on `path` (relative to the mount) needs no token (Vault's
    /// `PathsSpecial.Unauthenticated` of the backend, e.g. PKI's CA and CRL).
    fn is_unauthenticated(&self, _path: &str, _op: Operation) -> bool {
        false
    }

    /// Revoke a secret this engine leased (drop the database user). Called on expiry and on
    /// `sys/leases/revoke*`; an error keeps the lease, and the manager retries with backoff.
    async fn revoke_secret(&self, _call: LeaseCall<'_>) -> Result<(), ApiError> {
        Ok(())
    }

    /// Renew a secret this engine leased: `Ok(Some(ttl))` extends it by `ttl` seconds (the
    /// manager caps it at the max TTL), `Ok(None)` refuses renewal (Vault's 400 "lease is not
    /// renewable").
    async fn renew_secret(&self, _call: LeaseCall<'_>) -> Result<Option<u64>, ApiError> {
        Ok(None)
    }
}
