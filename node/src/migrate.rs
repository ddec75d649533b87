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
//! The records can only be written by a Raft leader that a quorum confirms, so a node that is
//! not one refuses the shares before they count (rather than unsealing half-way). Sealed nodes
//! of a multi-node cluster cannot reach each other (the cluster port opens at unseal, with the
//! certificate kept behind the barrier), so today a migration runs on a one-voter cluster;
//! Vault's procedure (standbys unseal with the old seal, the next active node migrates) is not
//! built yet.
//!
//! Risk: the records change in several writes; a crash between them leaves a node that needs
//! its records repaired by hand (the root key is never lost: every step keeps it wrapped by a
//! key the operator holds or the KMS holds).

use crate::core::Core;
use crate::error::ApiError;
use crate::records::{RECOVERY_CONFIG_PATH, RECOVERY_KEY_PATH, SEAL_CONFIG_PATH};
use coffer_seal::progress::{decode_key, KeyCollector};
use coffer_seal::{Seal, SealConfig, ShamirSeal};
use serde_json::Value;
use std::sync::Arc;
use zeroize::Zeroizing;

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
        // The migration rewrites the seal records, which only the Raft leader can write; the
        // other nodes follow the replicated records by themselves. Refused before the share
        // counts, so the operator types it again on the leader.
        if let Some(raft) = &self.storage.raft {
            if !raft.is_leader() || raft.ensure_linearizable().await.is_err() {
                return Err(ApiError::bad(
                    "seal migration needs this node to lead the Raft cluster, confirmed by a quorum",
                ));
            }
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
            let done = match migration {
                Migration::ToAuto(seal) => self.migrate_to_auto(&key, seal.as_ref()).await,
                Migration::ToShamir(old) => self.migrate_to_shamir(&key, old.as_ref()).await,
                Migration::Between { old, new } => {
                    self.migrate_between(&key, old.as_ref(), new.as_ref()).await
                }
            };
            if let Err(e) = done {
                // Leadership lost mid-way or a seal failed: nothing is served from a half
                // migration; the operator starts it again with the shares.
                self.active.set(None);
                self.storage.barrier.seal();
                return Err(e);
            }
        }
        drop(guard);
        self.seal_status().await
    }

    async fn migrate_to_auto(
        self: &Arc<Self>,
        kek: &[u8],
        seal: &dyn Seal,
    ) -> Result<(), ApiError> {
        let old = self.seal_config_required().await?;
        let root = self.unwrap_root_key(kek).await?;
        let wrapped = seal
            .wrap(root.as_bytes())
            .await
            .map_err(|e| ApiError::Unavailable(format!("cannot wrap the root key: {e}")))?;
        self.storage
            .barrier
            .unseal(&root)
            .await
            .map_err(ApiError::internal)?;
        // The old unseal key becomes the recovery key, with the same shares.
        self.view("").put(RECOVERY_KEY_PATH, kek).await?;
        self.records().put_recovery_config(&old).await?;
        self.records().put_wrapped_root_key(wrapped).await?;
        let mut config = old.clone();
        config.type_ = seal.seal_type().to_string();
        config.secret_shares = 1;
        config.secret_threshold = 1;
        config.stored_shares = 1;
        self.records().put_seal_config(&config).await?;
        tracing::info!(to = seal.seal_type(), "seal migrated from shamir");
        self.post_unseal().await
    }

    /// Unwrap the root key with the disabled seal, unseal the barrier with it, and check that
    /// `recovery_key` is the stored recovery key (else seal again: "invalid key").
    async fn open_with_disabled(
        &self,
        recovery_key: &[u8],
        old: &dyn Seal,
    ) -> Result<coffer_barrier::RootKey, ApiError> {
        let wrapped = self.records().wrapped_root_key().await?;
        let root = old.unwrap(&wrapped).await.map_err(|e| {
            ApiError::Unavailable(format!("the disabled seal cannot unwrap the root key: {e}"))
        })?;
        let root = coffer_barrier::RootKey::from_bytes(&root).map_err(ApiError::internal)?;
        self.storage
            .barrier
            .unseal(&root)
            .await
            .map_err(ApiError::internal)?;
        let stored = self.view("").get(RECOVERY_KEY_PATH).await?;
        let matches = stored.is_some_and(|s| {
            let s = Zeroizing::new(s);
            bool::from(subtle::ConstantTimeEq::ct_eq(&s[..], recovery_key))
        });
        if !matches {
            self.storage.barrier.seal();
            return Err(ApiError::bad("invalid key"));
        }
        Ok(root)
    }

    async fn migrate_to_shamir(
        self: &Arc<Self>,
        recovery_key: &[u8],
        old: &dyn Seal,
    ) -> Result<(), ApiError> {
        let recovery = self.recovery_config_required().await?;
        let root = self.open_with_disabled(recovery_key, old).await?;
        let shamir = ShamirSeal::new(recovery_key).map_err(ApiError::internal)?;
        let rewrapped = shamir
            .wrap(root.as_bytes())
            .await
            .map_err(ApiError::internal)?;
        self.records().put_wrapped_root_key(rewrapped).await?;
        let mut config = recovery.clone();
        config.type_ = "shamir".into();
        config.stored_shares = 0;
        self.records().put_seal_config(&config).await?;
        self.view("").delete(RECOVERY_KEY_PATH).await?;
        self.records().delete_recovery_config().await?;
        tracing::info!(from = old.seal_type(), "seal migrated to shamir");
        self.post_unseal().await
    }

    async fn migrate_between(
        self: &Arc<Self>,
        recovery_key: &[u8],
        old: &dyn Seal,
        new: &dyn Seal,
    ) -> Result<(), ApiError> {
        let mut config = self.seal_config_required().await?;
        let root = self.open_with_disabled(recovery_key, old).await?;
        let rewrapped = match new.wrap(root.as_bytes()).await {
            Ok(blob) => blob,
            Err(e) => {
                self.storage.barrier.seal();
                return Err(ApiError::Unavailable(format!(
                    "cannot wrap the root key: {e}"
                )));
            }
        };
        self.records().put_wrapped_root_key(rewrapped).await?;
        config.type_ = new.seal_type().to_string();
        self.records().put_seal_config(&config).await?;
        tracing::info!(
            from = old.seal_type(),
            to = new.seal_type(),
            "seal migrated"
        );
        self.post_unseal().await
    }
}
