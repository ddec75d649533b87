//! The active state: what exists only while a node is unsealed (and, in a cluster, leads):
//! the mount table, token store, policy store and audit devices, loaded from the barrier for
//! one Raft term. `ActiveSlot` holds the current one and serialises the state changes (init,
//! unseal, seal, takeover) that replace it.

use super::Core;
use crate::audit::{AuditBroker, AUDIT_TABLE_PATH};
use crate::error::ApiError;
use crate::identity::IdentityStore;
use crate::lease::LeaseManager;
use crate::policy_store::PolicyStore;
use crate::router::MountTable;
use crate::token::TokenStore;
use parking_lot::RwLock;
use std::sync::Arc;

/// What exists only while the node is unsealed (and, in a cluster, active).
pub struct ActiveState {
    pub mounts: Arc<MountTable>,
    pub tokens: TokenStore,
    pub policies: PolicyStore,
    /// Entities, aliases and groups (`sys/identity/`).
    pub identity: IdentityStore,
    /// Secret leases (`sys/expire/`); their expiry runs while this state is the active one.
    pub leases: Arc<LeaseManager>,
    /// The enabled audit devices, opened on this node.
    pub audit: AuditBroker,
    /// Rate limit quotas and their buckets (`sys/quotas/*`).
    pub quotas: crate::quota::Quotas,
    /// Unix seconds when this node became active.
    pub active_since: i64,
    /// The Raft term this state was loaded in as leader, after a read index (0 without Raft, and
    /// for the state loaded at unseal). A node leading in another term reloads first, so it
    /// never serves a mount table, token cache or KV version from an earlier leadership or from
    /// a state machine that has not caught up.
    pub term: u64,
    /// `sys/rotate/config` as automatic rotation applies it; `None` until first read from
    /// storage (`sys/auto_rotate.rs`), set again by every write of the settings.
    pub rotation_policy: RwLock<Option<coffer_barrier::RotationPolicy>>,
}

/// The active state of one node, if any, and the lock its replacements take.
#[derive(Default)]
pub struct ActiveSlot {
    state: RwLock<Option<Arc<ActiveState>>>,
    /// Serialises init/unseal/seal/takeover so two callers cannot race a state change.
    pub(crate) transition: tokio::sync::Mutex<()>,
}

impl ActiveSlot {
    /// The current state, if the node is unsealed.
    pub fn get(&self) -> Option<Arc<ActiveState>> {
        self.state.read().clone()
    }

    /// Replace the state (`None`: sealed).
    /// The state replaced stops expiring leases.
    pub fn set(&self, state: Option<Arc<ActiveState>>) {
        let old = std::mem::replace(&mut *self.state.write(), state.clone());
        if let Some(old) = old {
            if state.as_ref().is_none_or(|new| !Arc::ptr_eq(new, &old)) {
                old.leases.stop();
            }
        }
    }

    /// Whether there is a state.
    pub fn is_some(&self) -> bool {
        self.state.read().is_some()
    }
}

impl Core {
    /// The state to serve a request with: reloaded from storage (after a read index, so it holds
    /// every committed write) when this node became leader in a term it has not loaded yet.
    pub async fn current_active(self: &Arc<Self>) -> Result<Arc<ActiveState>, ApiError> {
        let state = self.active()?;
        let Some(raft) = &self.storage.raft else {
            return Ok(state);
        };
        let term = raft.metrics().current_term;
        if state.term == term {
            return Ok(state);
        }
        let _guard = self.active.transition.lock().await;
        if let Some(state) = self.active.get().filter(|s| s.term == term) {
            return Ok(state);
        }
        // A leader fresh from its election has no quorum ack yet, so its lease is not valid and
        // it refuses writes: a read index collects a round of acks first.
        raft.ensure_linearizable()
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        // Everything committed before is applied here once an entry of this term is: a read
        // index alone is not enough for a leader that resumed its term after a restart.
        raft.commit_noop()
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        raft.ensure_linearizable()
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        // The keyring as stored now: a snapshot restored while this node was a standby may
        // have replaced it, and a term it dropped must not encrypt anything new.
        self.storage.barrier.reset_keyring().await?;
        let fresh = Arc::new(self.load_active_state(term).await?);
        self.active.set(Some(fresh.clone()));
        self.start_lease_expiry(&fresh);
        self.storage.metrics.observe_takeover();
        tracing::info!(term, "took over as the active node");
        Ok(fresh)
    }

    /// Run `state`'s lease expiry while this node is active in its term: without Raft,
    /// whenever unsealed; with Raft, only for a state loaded as leader (term > 0), and only
    /// while the node still leads in that term.
    pub(crate) fn start_lease_expiry(&self, state: &Arc<ActiveState>) {
        let raft = self.storage.raft.clone();
        let term = state.term;
        if raft.is_some() && term == 0 {
            return;
        }
        let still_active = move || {
            raft.as_ref()
                .is_none_or(|r| r.is_leader() && r.metrics().current_term == term)
        };
        tokio::spawn(crate::lease::run_expiry(
            state.leases.clone(),
            term,
            still_active,
        ));
    }

    /// Read the mount table, tokens and policies from the (unsealed) barrier.
    pub(crate) async fn load_active_state(&self, term: u64) -> Result<ActiveState, ApiError> {
        let mounts = Arc::new(MountTable::load(self.view("")).await?);
        let leases = Arc::new(LeaseManager::new(
            self.view("sys/expire/"),
            mounts.clone(),
            self.config.default_lease_ttl_secs,
            self.config.max_lease_ttl_secs,
        ));
        let mut tokens = TokenStore::new(self.view("sys/token/")).with_listener(leases.clone());
        if let Some(cubbyhole) = mounts.cubbyhole_storage() {
            tokens = tokens.with_cubbyhole(cubbyhole);
        }
        Ok(ActiveState {
            mounts,
            tokens,
            policies: PolicyStore::new(self.view("sys/policy/")),
            identity: IdentityStore::new(self.view("sys/identity/")),
            leases,
            audit: AuditBroker::open(
                &self
                    .view("")
                    .get_json(AUDIT_TABLE_PATH)
                    .await?
                    .unwrap_or_default(),
            ),
            quotas: crate::quota::Quotas::load(&self.view("")).await?,
            active_since: crate::clock::unix_now(),
            term,
            rotation_policy: RwLock::new(None),
        })
    }
}
