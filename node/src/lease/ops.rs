//! What requests do to a secret lease: look it up, renew it through its engine, revoke it
//! (with the engine's consent, or by force), by id or by prefix, and tidy.

use super::record::LeaseRecord;
use super::{invalid_lease, LeaseManager};
use crate::engines::LeaseCall;
use crate::error::ApiError;
use crate::request::Response;
use crate::token::TokenStore;
use serde_json::Value;

impl LeaseManager {
    /// `sys/leases/lookup`'s data for a secret lease, if `id` names one.
    pub async fn lookup(&self, id: &str) -> Result<Option<Value>, ApiError> {
        let now = crate::clock::unix_now_ms();
        Ok(self.store.get(id).await?.map(|rec| rec.lookup_json(now)))
    }

    /// Whether `id` names a stored secret lease.
    pub async fn exists(&self, id: &str) -> Result<bool, ApiError> {
        Ok(self.store.get(id).await?.is_some())
    }

    /// Revoke `id`: the engine's `revoke_secret`, then the record is deleted. With `force`, an
    /// engine error is logged and the record deleted anyway (`revoke-force`). 400 "invalid
    /// lease" if `id` names no lease, which is also what a second revocation gets.
    pub async fn revoke(&self, id: &str, force: bool) -> Result<(), ApiError> {
        let lock = self.lock_of(id);
        let result = {
            let _held = lock.lock().await;
            self.revoke_locked(id, force).await
        };
        self.release(id, lock);
        #[cfg(madsim)]
        if result.is_ok() {
            super::sim_registry::record(id, super::sim_registry::EventKind::RevokedByRequest);
        }
        result
    }

    pub(super) async fn revoke_locked(&self, id: &str, force: bool) -> Result<(), ApiError> {
        let Some(rec) = self.store.get(id).await? else {
            self.schedule.lock().remove(id);
            return Err(invalid_lease());
        };
        if let Err(e) = self.engine_revoke(&rec).await {
            if !force {
                return Err(e);
            }
            tracing::warn!(lease_id = id, error = %e, "force-revoking a lease its engine could not revoke");
        }
        self.store.delete(&rec).await?;
        self.schedule.lock().remove(id);
        self.unsettled.lock().remove(id);
        tracing::debug!(lease_id = id, "lease revoked");
        Ok(())
    }

    async fn engine_revoke(&self, rec: &LeaseRecord) -> Result<(), ApiError> {
        // A mount disabled since: nothing left to revoke the secret with.
        let Some((mount, engine, storage)) = self.engines.by_uuid(&rec.mount_uuid) else {
            return Ok(());
        };
        let call = LeaseCall {
            storage: &storage,
            mount: &mount,
            internal: &rec.internal,
            increment_secs: 0,
        };
        engine.revoke_secret(call).await
    }

    /// Renew `id` by `increment_secs` (0: its own TTL) through its engine, never past its max
    /// TTL. The answer carries the lease fields as Vault's `sys/leases/renew` does.
    pub async fn renew(&self, id: &str, increment_secs: u64) -> Result<Response, ApiError> {
        let lock = self.lock_of(id);
        let result = {
            let _held = lock.lock().await;
            self.renew_locked(id, increment_secs).await
        };
        self.release(id, lock);
        result
    }

    async fn renew_locked(&self, id: &str, increment_secs: u64) -> Result<Response, ApiError> {
        let mut rec = self.store.get(id).await?.ok_or_else(invalid_lease)?;
        let now = crate::clock::unix_now_ms();
        if rec.expire_time_ms <= now {
            return Err(ApiError::bad("lease expired"));
        }
        if !rec.renewable {
            return Err(ApiError::bad("lease is not renewable"));
        }
        let (mount, engine, storage) = self
            .engines
            .by_uuid(&rec.mount_uuid)
            .ok_or_else(invalid_lease)?;
        let call = LeaseCall {
            storage: &storage,
            mount: &mount,
            internal: &rec.internal,
            increment_secs,
        };
        let granted = engine
            .renew_secret(call)
            .await?
            .ok_or_else(|| ApiError::bad("lease is not renewable"))?;
        let granted = if granted == 0 {
            u64::try_from((rec.expire_time_ms - rec.issue_time_ms).max(0) / 1000).unwrap_or(0)
        } else {
            granted
        };
        rec.expire_time_ms = rec.renewed_expiry(granted, now);
        rec.last_renewal_ms = Some(now);
        self.store.put(&rec).await?;
        self.schedule_at(id, rec.expire_time_ms);
        Ok(Response {
            lease_id: id.to_string(),
            lease_duration: rec.ttl_secs(now),
            renewable: true,
            ..Default::default()
        })
    }

    /// Every secret lease id under `prefix` (the id itself, or below it as a folder).
    pub async fn ids_under(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        let prefix = prefix.trim_end_matches('/');
        Ok(self
            .store
            .ids()
            .await?
            .into_iter()
            .filter(|id| prefix.is_empty() || id == prefix || id.starts_with(&format!("{prefix}/")))
            .collect())
    }

    /// Revoke every lease under `prefix`; the first engine error stops it (unless `force`).
    pub async fn revoke_prefix(&self, prefix: &str, force: bool) -> Result<usize, ApiError> {
        let mut revoked = 0;
        for id in self.ids_under(prefix).await? {
            match self.revoke(&id, force).await {
                Ok(()) => revoked += 1,
                // Revoked meanwhile by expiry or another request.
                Err(ApiError::BadRequest(m)) if m == "invalid lease" => {}
                Err(e) => return Err(e),
            }
        }
        Ok(revoked)
    }

    /// `sys/leases/tidy` for secret leases: a lease whose token is gone is revoked (Vault's
    /// tidy does the same), in the expiry task's hands. Returns how many were scheduled.
    pub async fn tidy(&self, tokens: &TokenStore) -> Result<usize, ApiError> {
        let mut orphaned = 0;
        let now = crate::clock::unix_now_ms();
        for id in self.store.ids().await? {
            let Some(rec) = self.store.get(&id).await? else {
                continue;
            };
            if !rec.accessor.is_empty() && tokens.lookup_accessor(&rec.accessor).await?.is_none() {
                self.expire_now(&id, now).await?;
                orphaned += 1;
            }
        }
        Ok(orphaned)
    }

    /// The leases of a revoked token, made due now. Called by the expiry task.
    pub(super) async fn expire_token_leases(&self, accessor: &str) -> Result<(), ApiError> {
        let now = crate::clock::unix_now_ms();
        for id in self.store.by_token(accessor).await? {
            self.expire_now(&id, now).await?;
        }
        Ok(())
    }

    /// `sys/leases/revoke` with `sync=false`: the lease expires now and the expiry task
    /// revokes it (retrying, as for any expiry). 400 "invalid lease" if there is none.
    pub async fn revoke_later(&self, id: &str) -> Result<(), ApiError> {
        if !self.exists(id).await? {
            return Err(invalid_lease());
        }
        self.expire_now(id, crate::clock::unix_now_ms()).await
    }

    /// Make `id` expire at `now_ms` (stored, so a new active node sees it too) and schedule it.
    async fn expire_now(&self, id: &str, now_ms: i64) -> Result<(), ApiError> {
        let lock = self.lock_of(id);
        let result = async {
            let _held = lock.lock().await;
            if let Some(mut rec) = self.store.get(id).await? {
                rec.expire_time_ms = rec.expire_time_ms.min(now_ms);
                self.store.put(&rec).await?;
                self.schedule_at(id, rec.expire_time_ms);
            }
            Ok::<(), ApiError>(())
        }
        .await;
        self.release(id, lock);
        result
    }
}
