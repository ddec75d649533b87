//! Seal migration, as Vault documents it: change the `seal` stanza, restart, and unseal with
//! `operator unseal -migrate`.
//!
//! - Shamir → auto (a new enabled stanza, the stored seal still Shamir): the operator's unseal
//!   shares open the root key one last time; the root key is wrapped again by the auto seal, and
//!   the old unseal key becomes the recovery key (same shares, same threshold).
//! - auto → Shamir (the stanza marked `disabled = "true"`): the disabled seal unwraps the root
//!   key, the operator's recovery shares must rebuild the stored recovery key, and that key
//!   becomes the unseal key (same shares), wrapping the root key from now on.
//! - auto → auto (two stanzas: the old one disabled, the new one enabled, of another type): the
//!   disabled seal unwraps the root key, the operator's recovery shares must rebuild the stored
//!   recovery key, and the new seal wraps the root key; the recovery key stays as it is.
//!
//! On a Raft cluster, Vault's procedure for integrated storage: the new records can only be
//! written by a leader that a quorum confirms. A node that is one when the shares are complete
//! migrates at once (a one-voter cluster). Any other node unseals with the OLD seal (the shares
//! checked as above), serves as a standby, and keeps the combined key in
//! `KeyCeremonies::pending_migration`; `finish_on_takeover` writes the new records as soon as
//! this node leads (after the operator restarts or steps down the active node), and forgets the
//! key when another node has migrated (the replicated seal config no longer asks for it). Its
//! leadership is confirmed first (read index, a no-op of its term, read index), so it writes
//! over the records as the cluster has them.
//!
//! Failure: the wrapped root key and the seal config change in one write (one Raft entry), so
//! the stored seal type always names the seal that wraps the stored root key; a migration that
//! fails before it leaves the old seal (and the operator's old keys) working, and is retried.
//! The recovery key and its config are written before (to an auto seal) or dropped after (to
//! Shamir); a leftover of either is harmless.

use crate::core::Core;
use crate::error::ApiError;
use crate::records::{RECOVERY_CONFIG_PATH, RECOVERY_KEY_PATH, SEAL_CONFIG_PATH};
use coffer_seal::progress::{decode_key, KeyCollector};
use coffer_seal::{Seal, SealConfig, ShamirSeal};
use serde_json::Value;
use std::sync::Arc;
use std::time::Duration;
use zeroize::Zeroizing;

/// How soon a standby with an authorised migration first checks whether it leads, and the
/// longest wait between checks after failures.
const TAKEOVER_POLL: Duration = Duration::from_millis(250);
const TAKEOVER_BACKOFF_MAX: Duration = Duration::from_secs(10);
/// How long a lone voter's migration waits for its own election (see `await_lone_leadership`).
const LONE_LEADER_WAIT: Duration = Duration::from_secs(30);

/// A pending migration and the seal it needs.
pub enum Migration {
    /// To the configured auto seal.
    ToAuto(Arc<dyn Seal>),
    /// Away from the disabled auto seal, to Shamir.
    ToShamir(Arc<dyn Seal>),
    /// From the disabled auto seal (`old`) to the enabled one (`new`).
    Between {
        old: Arc<dyn Seal>,
        new: Arc<dyn Seal>,
    },
}

impl Core {
    /// The migration the config and the stored seal ask for, if any.
    pub async fn migration(&self) -> Result<Option<Migration>, ApiError> {
        let Some(config) = self.seal_config().await? else {
            return Ok(None);
        };
        Ok(
            match (&self.storage.auto_seal, &self.storage.disabled_seal) {
                (Some(seal), _) if config.type_ == "shamir" => {
                    Some(Migration::ToAuto(seal.clone()))
                }
                (None, Some(old)) if config.type_ == old.seal_type() => {
                    Some(Migration::ToShamir(old.clone()))
                }
                (Some(new), Some(old))
                    if config.type_ == old.seal_type() && new.seal_type() != old.seal_type() =>
                {
                    Some(Migration::Between {
                        old: old.clone(),
                        new: new.clone(),
                    })
                }
                _ => None,
            },
        )
    }

    async fn seal_config_required(&self) -> Result<SealConfig, ApiError> {
        self.records()
            .seal_config()
            .await?
            .ok_or_else(|| ApiError::internal(format!("{SEAL_CONFIG_PATH} is missing")))
    }

    async fn recovery_config_required(&self) -> Result<SealConfig, ApiError> {
        self.records()
            .recovery_config()
            .await?
            .ok_or_else(|| ApiError::internal(format!("{RECOVERY_CONFIG_PATH} is missing")))
    }

    /// `sys/unseal` with `migrate: true`: one share toward the migration; returns seal status.
    pub async fn submit_migration_key(self: &Arc<Self>, key: &str) -> Result<Value, ApiError> {
        let guard = self.active.transition.lock().await;
        let Some(migration) = self.migration().await? else {
            return Err(ApiError::bad("no seal migration is pending"));
        };
        if !self.is_sealed() {
            // Unsealed with the old seal already; the migration waits for this node to lead.
            drop(guard);
            return self.seal_status().await;
        }
        let threshold = match &migration {
            Migration::ToAuto(_) => self.seal_config_required().await?,
            Migration::ToShamir(_) | Migration::Between { .. } => {
                self.recovery_config_required().await?
            }
        }
        .secret_threshold;
        let part = decode_key(key).map_err(|e| ApiError::bad(e.to_string()))?;
        let combined = {
            let mut progress = self.keys.unseal_progress.lock();
            let collector = progress.get_or_insert_with(|| KeyCollector::new(threshold));
            match collector.add(part) {
                Err(coffer_seal::SealError::Duplicate) | Ok(None) => None,
                other => {
                    *progress = None;
                    other.map_err(|e| ApiError::bad(e.to_string()))?
                }
            }
        };
        if let Some(key) = combined {
            let key = Zeroizing::new(key.to_vec());
            self.open_for_migration(&key, &migration).await?;
            self.await_lone_leadership().await;
            if self.leads_confirmed().await {
                if let Err(e) = self.write_migration(&key, &migration).await {
                    // A seal failed or leadership was lost: the records are as before (see the
                    // module doc); nothing is served, the operator starts again with the shares.
                    self.storage.barrier.seal();
                    return Err(e);
                }
                self.post_unseal().await?;
            } else {
                // Vault's rolling procedure: a standby unseals with the old seal and migrates
                // only once it becomes the active node.
                self.post_unseal().await?;
                *self.keys.pending_migration.lock() = Some(key);
                tokio::spawn(finish_on_takeover(self.clone()));
                tracing::info!(
                    "unsealed with the old seal; the seal migrates when this node becomes active"
                );
            }
        }
        drop(guard);
        self.seal_status().await
    }

    /// Check the combined key against the stored records and open the barrier with the old
    /// seal: the Shamir unseal key (to an auto seal), or the disabled seal and the recovery key.
    async fn open_for_migration(&self, key: &[u8], migration: &Migration) -> Result<(), ApiError> {
        match migration {
            Migration::ToAuto(_) => {
                let root = self.unwrap_root_key(key).await?;
                self.storage
                    .barrier
                    .unseal(&root)
                    .await
                    .map_err(ApiError::internal)
            }
            Migration::ToShamir(old) | Migration::Between { old, .. } => {
                let wrapped = self.records().wrapped_root_key().await?;
                let root = unwrap_with(old.as_ref(), &wrapped).await?;
                self.storage
                    .barrier
                    .unseal(&root)
                    .await
                    .map_err(ApiError::internal)?;
                if let Err(e) = self.check_recovery_key(key).await {
                    self.storage.barrier.seal();
                    return Err(e);
                }
                Ok(())
            }
        }
    }

    /// A lone voter is the whole cluster and will lead once its election ends (a restarted
    /// leader runs a new election: openraft's leader restore is off), so its migration waits
    /// for that and completes before the answer, as on Vault's single node, instead of being
    /// left to a takeover. A node with peers does not wait: a standby migrates on takeover.
    async fn await_lone_leadership(&self) {
        let Some(raft) = &self.storage.raft else {
            return;
        };
        if raft.metrics().voters.len() == 1 && !raft.is_leader() {
            if let Err(e) = raft.wait_leader(LONE_LEADER_WAIT).await {
                tracing::warn!(error = %e, "a lone voter did not become leader; the seal migrates on takeover");
            }
        }
    }

    /// Whether this node may write the seal records: no Raft, or the Raft leader confirmed by
    /// a quorum and caught up with everything committed before its term.
    async fn leads_confirmed(&self) -> bool {
        let Some(raft) = &self.storage.raft else {
            return true;
        };
        raft.is_leader()
            && raft.ensure_linearizable().await.is_ok()
            && raft.commit_noop().await.is_ok()
            && raft.ensure_linearizable().await.is_ok()
    }

    /// `key` is the stored recovery key (compared in constant time); the barrier is unsealed.
    async fn check_recovery_key(&self, key: &[u8]) -> Result<(), ApiError> {
        let stored = self.view("").get(RECOVERY_KEY_PATH).await?;
        let matches = stored.is_some_and(|s| {
            let s = Zeroizing::new(s);
            bool::from(subtle::ConstantTimeEq::ct_eq(&s[..], key))
        });
        if matches {
            Ok(())
        } else {
            Err(ApiError::bad("invalid key"))
        }
    }

    /// Write the new seal records for `migration`, authorised by `key`, on an unsealed node
    /// that leads. Everything is checked again against the records as they are now.
    async fn write_migration(&self, key: &[u8], migration: &Migration) -> Result<(), ApiError> {
        match migration {
            Migration::ToAuto(seal) => self.migrate_to_auto(key, seal.as_ref()).await,
            Migration::ToShamir(old) => self.migrate_to_shamir(key, old.as_ref()).await,
            Migration::Between { old, new } => {
                self.migrate_between(key, old.as_ref(), new.as_ref()).await
            }
        }
    }

    async fn migrate_to_auto(&self, kek: &[u8], seal: &dyn Seal) -> Result<(), ApiError> {
        let old = self.seal_config_required().await?;
        let root = self.unwrap_root_key(kek).await?;
        let wrapped = seal
            .wrap(root.as_bytes())
            .await
            .map_err(|e| ApiError::Unavailable(format!("cannot wrap the root key: {e}")))?;
        // The old unseal key becomes the recovery key, with the same shares.
        self.view("").put(RECOVERY_KEY_PATH, kek).await?;
        self.records().put_recovery_config(&old).await?;
        let mut config = old.clone();
        config.type_ = seal.seal_type().to_string();
        config.secret_shares = 1;
        config.secret_threshold = 1;
        config.stored_shares = 1;
        self.records()
            .put_root_key_and_seal_config(wrapped, &config)
            .await?;
        tracing::info!(to = seal.seal_type(), "seal migrated from shamir");
        Ok(())
    }

    /// The root key unwrapped by the disabled seal, once `recovery_key` is the stored one.
    async fn root_by_disabled(
        &self,
        recovery_key: &[u8],
        old: &dyn Seal,
    ) -> Result<coffer_barrier::RootKey, ApiError> {
        let wrapped = self.records().wrapped_root_key().await?;
        let root = unwrap_with(old, &wrapped).await?;
        self.check_recovery_key(recovery_key).await?;
        Ok(root)
    }

    async fn migrate_to_shamir(&self, recovery_key: &[u8], old: &dyn Seal) -> Result<(), ApiError> {
        let recovery = self.recovery_config_required().await?;
        let root = self.root_by_disabled(recovery_key, old).await?;
        let shamir = ShamirSeal::new(recovery_key).map_err(ApiError::internal)?;
        let rewrapped = shamir
            .wrap(root.as_bytes())
            .await
            .map_err(ApiError::internal)?;
        let mut config = recovery.clone();
        config.type_ = "shamir".into();
        config.stored_shares = 0;
        self.records()
            .put_root_key_and_seal_config(rewrapped, &config)
            .await?;
        self.view("").delete(RECOVERY_KEY_PATH).await?;
        self.records().delete_recovery_config().await?;
        tracing::info!(from = old.seal_type(), "seal migrated to shamir");
        Ok(())
    }

    async fn migrate_between(
        &self,
        recovery_key: &[u8],
        old: &dyn Seal,
        new: &dyn Seal,
    ) -> Result<(), ApiError> {
        let mut config = self.seal_config_required().await?;
        let root = self.root_by_disabled(recovery_key, old).await?;
        let rewrapped = new
            .wrap(root.as_bytes())
            .await
            .map_err(|e| ApiError::Unavailable(format!("cannot wrap the root key: {e}")))?;
        config.type_ = new.seal_type().to_string();
        self.records()
            .put_root_key_and_seal_config(rewrapped, &config)
            .await?;
        tracing::info!(
            from = old.seal_type(),
            to = new.seal_type(),
            "seal migrated"
        );
        Ok(())
    }

    /// One attempt of a standby's authorised migration: `Ok(true)` when nothing is left to do
    /// (migrated here, by another node, or the node sealed), `Ok(false)` while it does not lead.
    async fn finish_pending_migration(&self) -> Result<bool, ApiError> {
        let _guard = self.active.transition.lock().await;
        let Some(key) = self.keys.pending_migration.lock().clone() else {
            return Ok(true);
        };
        if self.is_sealed() {
            *self.keys.pending_migration.lock() = None;
            return Ok(true);
        }
        if self.migration().await?.is_some() && !self.leads_confirmed().await {
            return Ok(false);
        }
        // Read again once leadership is confirmed: the records as the cluster has them now.
        let Some(migration) = self.migration().await? else {
            *self.keys.pending_migration.lock() = None;
            tracing::info!("the seal was migrated by the active node");
            return Ok(true);
        };
        self.write_migration(&key, &migration).await?;
        *self.keys.pending_migration.lock() = None;
        tracing::info!("the seal migration completed on takeover");
        Ok(true)
    }
}

/// The root key unwrapped by `seal` (an auto seal that may be unreachable: 503).
async fn unwrap_with(seal: &dyn Seal, wrapped: &[u8]) -> Result<coffer_barrier::RootKey, ApiError> {
    let root = seal.unwrap(wrapped).await.map_err(|e| {
        ApiError::Unavailable(format!("the old seal cannot unwrap the root key: {e}"))
    })?;
    coffer_barrier::RootKey::from_bytes(&root).map_err(ApiError::internal)
}

/// A standby that unsealed with the old seal for a migration: wait until it leads, then write
/// the new seal records (Vault: "the new active node performs the migration"). A failed attempt
/// leaves the old records in place and is retried with capped backoff.
async fn finish_on_takeover(core: Arc<Core>) {
    let mut wait = TAKEOVER_POLL;
    loop {
        tokio::time::sleep(wait).await;
        match core.finish_pending_migration().await {
            Ok(true) => return,
            Ok(false) => wait = TAKEOVER_POLL,
            Err(e) => {
                tracing::warn!(error = %e, retry_in_ms = wait.as_millis() as u64, "seal migration on takeover failed; the old seal stays in use");
                wait = (wait * 2).min(TAKEOVER_BACKOFF_MAX);
            }
        }
    }
}
