//! Automatic barrier-key rotation: after a request, if `sys/rotate/config` says the newest term
//! is due (`coffer_barrier::rotation_due`: `max_operations` encryptions, or `interval` old),
//! rotate it, as `sys/rotate` would.
//!
//! It runs in the pipeline on the active node only, inside the request's term fence, so the
//! new keyring is a fenced Raft write like the request's own: a deposed leader cannot rotate.
//! Many requests may find the same term due at once; `Barrier::rotate_if_newest` lets only one
//! of them make a new term. A failure is logged, never the request's: its own write already
//! happened, and the next request asks again.
//!
//! The check follows requests; there is no timer. A cluster that serves no request keeps its
//! term past `interval`, but encrypts nothing under it meanwhile: the first request after
//! `interval` rotates.

use super::rotate_config;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use coffer_barrier::{rotation_due, RotationPolicy};

/// Rotate the barrier key if it is due; for the pipeline, after a request was served.
pub async fn after_request(core: &Core, active: &ActiveState) {
    match rotate_if_due(core, active).await {
        Ok(()) | Err(ApiError::Sealed) => {}
        Err(e) => tracing::warn!(error = %e, "automatic barrier key rotation failed"),
    }
}

async fn rotate_if_due(core: &Core, active: &ActiveState) -> Result<(), ApiError> {
    let barrier = &core.storage.barrier;
    let key = barrier.key_status()?;
    let policy = policy(core, active).await?;
    let now = crate::clock::unix_now();
    let Some(reason) = rotation_due(&policy, &key, now) else {
        return Ok(());
    };
    if let Some(new) = barrier.rotate_if_newest(key.term, now).await? {
        tracing::info!(
            term = new.term,
            previous_encryptions = key.encryptions,
            reason = reason.as_str(),
            "rotated the barrier key automatically"
        );
    }
    Ok(())
}

/// The settings in force: cached in the active state, read from storage once per state.
async fn policy(core: &Core, active: &ActiveState) -> Result<RotationPolicy, ApiError> {
    if let Some(policy) = *active.rotation_policy.read() {
        return Ok(policy);
    }
    let policy = rotate_config::load(core).await?.policy();
    *active.rotation_policy.write() = Some(policy);
    Ok(policy)
}
