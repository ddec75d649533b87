//! The seal records: what a node reads before it can decrypt anything, and so the only entries
//! that bypass the barrier (besides the barrier's own keyring, which the root key encrypts).
//!
//! - `core/seal-config` (plain): share count, threshold and seal type. Written last at init, so
//!   its presence is what "initialized" means.
//! - `core/root-key` (plain bytes, but ciphertext): the root key wrapped by the unseal key
//!   (Shamir KEK) or by the auto seal (KMS / HSM).
//! - `core/recovery-config` (plain): with an auto seal, the recovery shares and threshold.
//! - `core/recovery-key` (behind the barrier): the recovery key the recovery shares rebuild. It
//!   is listed here because it belongs to the same story; it is read through a `StorageView`.
//!
//! Every read and write of the plain ones goes through `SealRecords`, typed, so no other module
//! names their paths or parses their bytes.

use crate::error::ApiError;
use coffer_barrier::Physical;
use coffer_seal::config::SealConfig;

/// Plain record: share count, threshold, seal type.
pub const SEAL_CONFIG_PATH: &str = "core/seal-config";
/// Plain record: the root key wrapped by the unseal key (ciphertext only).
pub const ROOT_KEY_PATH: &str = "core/root-key";
/// Plain record: the recovery key configuration (shares and threshold) with an auto seal.
pub const RECOVERY_CONFIG_PATH: &str = "core/recovery-config";
/// Barrier record: the recovery key itself, which the recovery shares rebuild.
pub const RECOVERY_KEY_PATH: &str = "core/recovery-key";

/// Typed access to the plain seal records of one node's physical storage.
#[derive(Clone, Copy)]
pub struct SealRecords<'a>(pub &'a dyn Physical);

impl SealRecords<'_> {
    /// The seal configuration; `None` before init completes.
    pub async fn seal_config(&self) -> Result<Option<SealConfig>, ApiError> {
        self.config(SEAL_CONFIG_PATH).await
    }

    /// Write the seal configuration (the last step of init, and of a rekey or migration).
    pub async fn put_seal_config(&self, config: &SealConfig) -> Result<(), ApiError> {
        self.put_config(SEAL_CONFIG_PATH, config).await
    }

    /// The recovery key's configuration (auto seal only).
    pub async fn recovery_config(&self) -> Result<Option<SealConfig>, ApiError> {
        self.config(RECOVERY_CONFIG_PATH).await
    }

    /// Write the recovery key's configuration.
    pub async fn put_recovery_config(&self, config: &SealConfig) -> Result<(), ApiError> {
        self.put_config(RECOVERY_CONFIG_PATH, config).await
    }

    /// Drop the recovery key's configuration (migration back to Shamir).
    pub async fn delete_recovery_config(&self) -> Result<(), ApiError> {
        self.0
            .delete(RECOVERY_CONFIG_PATH)
            .await
            .map_err(ApiError::internal)
    }

    /// The wrapped root key; a missing record is an internal error (init writes it first).
    pub async fn wrapped_root_key(&self) -> Result<Vec<u8>, ApiError> {
        self.0
            .get(ROOT_KEY_PATH)
            .await
            .map_err(ApiError::internal)?
            .ok_or_else(|| ApiError::internal("root key record is missing"))
    }

    /// Whether the wrapped root key has arrived (a joining node waits for it to replicate).
    pub async fn has_wrapped_root_key(&self) -> Result<bool, ApiError> {
        let raw = self
            .0
            .get(ROOT_KEY_PATH)
            .await
            .map_err(ApiError::internal)?;
        Ok(raw.is_some())
    }

    /// Replace the wrapped root key.
    pub async fn put_wrapped_root_key(&self, wrapped: Vec<u8>) -> Result<(), ApiError> {
        self.0
            .put(ROOT_KEY_PATH, wrapped)
            .await
            .map_err(ApiError::internal)
    }

    /// Replace the wrapped root key and the seal configuration in one write (one Raft entry),
    /// so the stored seal type always names the seal that wraps the stored root key: a seal
    /// migration that fails before this write leaves the old seal working, one after it is done.
    pub async fn put_root_key_and_seal_config(
        &self,
        wrapped: Vec<u8>,
        config: &SealConfig,
    ) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(config).map_err(ApiError::internal)?;
        self.0
            .put_many(vec![
                (ROOT_KEY_PATH.to_string(), wrapped),
                (SEAL_CONFIG_PATH.to_string(), bytes),
            ])
            .await
            .map_err(ApiError::internal)
    }

    async fn config(&self, path: &str) -> Result<Option<SealConfig>, ApiError> {
        let raw = self.0.get(path).await.map_err(ApiError::internal)?;
        raw.map(|b| serde_json::from_slice(&b).map_err(ApiError::internal))
            .transpose()
    }

    async fn put_config(&self, path: &str, config: &SealConfig) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(config).map_err(ApiError::internal)?;
        self.0.put(path, bytes).await.map_err(ApiError::internal)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_barrier::MemPhysical;

    #[tokio::test]
    async fn records_round_trip_in_plain_and_absent_ones_read_as_none() {
        let physical = MemPhysical::new();
        let records = SealRecords(&physical);
        assert!(records.seal_config().await.unwrap().is_none());
        assert!(records.wrapped_root_key().await.is_err());

        let config = SealConfig::shamir(5, 3);
        records.put_seal_config(&config).await.unwrap();
        records.put_recovery_config(&config).await.unwrap();
        records.put_wrapped_root_key(vec![1, 2, 3]).await.unwrap();

        let back = records.seal_config().await.unwrap().unwrap();
        assert_eq!((back.secret_shares, back.secret_threshold), (5, 3));
        // Plain: the bytes on disk are the JSON itself, readable while sealed.
        let raw = physical.get(SEAL_CONFIG_PATH).await.unwrap().unwrap();
        assert_eq!(
            serde_json::from_slice::<SealConfig>(&raw)
                .unwrap()
                .secret_shares,
            5
        );
        assert_eq!(records.wrapped_root_key().await.unwrap(), vec![1, 2, 3]);

        records.delete_recovery_config().await.unwrap();
        assert!(records.recovery_config().await.unwrap().is_none());
    }

    #[tokio::test]
    async fn a_migration_replaces_root_key_and_seal_type_together() {
        let physical = MemPhysical::new();
        let records = SealRecords(&physical);
        records
            .put_seal_config(&SealConfig::shamir(3, 2))
            .await
            .unwrap();
        records.put_wrapped_root_key(vec![1]).await.unwrap();
        let mut auto = SealConfig::shamir(1, 1);
        auto.type_ = "transit".into();
        records
            .put_root_key_and_seal_config(vec![2], &auto)
            .await
            .unwrap();
        assert_eq!(
            records.seal_config().await.unwrap().unwrap().type_,
            "transit"
        );
        assert_eq!(records.wrapped_root_key().await.unwrap(), vec![2]);
    }
}
