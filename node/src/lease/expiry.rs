//! The expiry task of one active state: restore every stored lease into the schedule, then
//! revoke each as it comes due (a failure keeps the lease and retries with backoff), until the
//! state stops being the active one. Time comes from `crate::clock` and the runtime's timer, so
//! it runs the same under simulation. Every write is fenced to the state's Raft term: a node
//! that lost its leadership cannot delete a record the new active node is handling.

use super::{invalid_lease, LeaseManager};
use crate::error::ApiError;
use std::sync::Arc;
use std::time::Duration;

/// The longest the task sleeps before checking again that its node is still active.
const RECHECK_MS: i64 = 1_000;

fn is_invalid(e: &ApiError) -> bool {
    matches!(e, ApiError::BadRequest(m) if *m == invalid_lease().to_string())
}

/// Run the schedule of `mgr` while `still_active` holds (this node leads in `term`) and the
/// manager is not stopped.
pub async fn run<F>(mgr: Arc<LeaseManager>, term: u64, still_active: F)
where
    F: Fn() -> bool + Send + Sync + 'static,
{
    let live = || !mgr.is_stopped() && still_active();
    while live() {
        match crate::physical::fenced(term, mgr.restore()).await {
            Ok(count) => {
                tracing::info!(count, term, "lease expiry schedule restored");
                break;
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not load the leases; retrying");
                tokio::time::sleep(Duration::from_millis(RECHECK_MS as u64)).await;
            }
        }
    }
    while live() {
        mgr.tick(term).await;
        let now = crate::clock::unix_now_ms();
        let next = mgr.schedule.lock().next_due();
        let wait = next.map_or(RECHECK_MS, |due| (due - now).clamp(0, RECHECK_MS));
        if wait > 0 {
            tokio::select! {
                _ = tokio::time::sleep(Duration::from_millis(wait as u64)) => {}
                _ = mgr.wake.notified() => {}
            }
        }
    }
    tracing::info!(term, "lease expiry stopped: no longer the active node");
}

impl LeaseManager {
    /// One round: the leases of revoked tokens become due, then every due lease is revoked.
    pub async fn tick(&self, term: u64) {
        let accessors = std::mem::take(&mut *self.revoked_tokens.lock());
        for accessor in accessors {
            if let Err(e) = crate::physical::fenced(term, self.expire_token_leases(&accessor)).await
            {
                tracing::warn!(error = %e, "could not find a revoked token's leases; retrying");
                self.revoked_tokens.lock().push(accessor);
            }
        }
        let now = crate::clock::unix_now_ms();
        let due = self.schedule.lock().take_due(now);
        for id in due {
            match crate::physical::fenced(term, self.revoke_expired(&id, now)).await {
                Ok(true) => tracing::info!(lease_id = %id, "lease expired and was revoked"),
                Ok(false) => {}
                Err(e) if is_invalid(&e) && self.unsettled.lock().contains(&id) => {
                    // No record yet, but its registering write may still be committed.
                    self.schedule.lock().failed(&id, now);
                }
                Err(e) if is_invalid(&e) => {}
                Err(e) => {
                    let retry_at = self.schedule.lock().failed(&id, now);
                    tracing::warn!(lease_id = %id, error = %e, retry_in_ms = retry_at - now,
                        "revoking an expired lease failed; keeping it and retrying");
                }
            }
        }
    }

    /// Revoke `id` if it is still expired at `now_ms` under its lock (a renewal may have
    /// moved it; then it is rescheduled). Whether it was revoked.
    async fn revoke_expired(&self, id: &str, now_ms: i64) -> Result<bool, ApiError> {
        let lock = self.lock_of(id);
        let result = {
            let _held = lock.lock().await;
            match self.store.get(id).await? {
                Some(rec) if rec.expire_time_ms > now_ms => {
                    self.schedule.lock().set(id, rec.expire_time_ms);
                    Ok(false)
                }
                _ => {
                    self.revoke_locked(id, false).await?;
                    #[cfg(madsim)]
                    super::sim_registry::record(
                        id,
                        super::sim_registry::EventKind::Expired {
                            decided_wall_ms: now_ms,
                        },
                    );
                    Ok(true)
                }
            }
        };
        self.release(id, lock);
        result
    }
}
