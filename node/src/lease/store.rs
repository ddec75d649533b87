//! Where leases live behind the barrier, under `sys/expire/` (Vault's layout):
//! `id/<lease_id>` → [`LeaseRecord`], and `token/<accessor>/<sha256(lease_id)>` → the lease
//! id, so revoking a token finds its leases. The record is the truth: an index entry whose
//! record is gone is skipped and removed.

use super::record::LeaseRecord;
use crate::error::ApiError;
use crate::storage::StorageView;
use sha2::{Digest, Sha256};

/// The lease records of one cluster.
#[derive(Clone)]
pub struct LeaseStore {
    view: StorageView,
}

fn id_key(lease_id: &str) -> String {
    format!("id/{lease_id}")
}

fn token_key(accessor: &str, lease_id: &str) -> String {
    format!(
        "token/{accessor}/{}",
        hex::encode(Sha256::digest(lease_id.as_bytes()))
    )
}

impl LeaseStore {
    /// The store over `view` (the barrier at `sys/expire/`).
    pub fn new(view: StorageView) -> Self {
        LeaseStore { view }
    }

    /// Save a record and its token index in one replicated write.
    pub async fn put(&self, rec: &LeaseRecord) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(rec).map_err(ApiError::internal)?;
        let id_key = id_key(&rec.lease_id);
        if rec.accessor.is_empty() {
            return self.view.put(&id_key, &bytes).await;
        }
        let token_key = token_key(&rec.accessor, &rec.lease_id);
        self.view
            .put_many(&[
                (id_key.as_str(), bytes.as_slice()),
                (token_key.as_str(), rec.lease_id.as_bytes()),
            ])
            .await
    }

    pub async fn get(&self, lease_id: &str) -> Result<Option<LeaseRecord>, ApiError> {
        if lease_id.is_empty() || lease_id.ends_with('/') {
            return Ok(None);
        }
        self.view.get_json(&id_key(lease_id)).await
    }

    /// Delete a record: the record first (this is the step that makes the lease gone), then
    /// its index entry.
    pub async fn delete(&self, rec: &LeaseRecord) -> Result<(), ApiError> {
        self.view.delete(&id_key(&rec.lease_id)).await?;
        if !rec.accessor.is_empty() {
            self.view
                .delete(&token_key(&rec.accessor, &rec.lease_id))
                .await?;
        }
        Ok(())
    }

    /// Every lease id, sorted.
    pub async fn ids(&self) -> Result<Vec<String>, ApiError> {
        Ok(self
            .view
            .list_recursive("id/")
            .await?
            .into_iter()
            .filter_map(|k| k.strip_prefix("id/").map(str::to_string))
            .collect())
    }

    /// The ids of the leases `accessor`'s token asked for; stale index entries are dropped.
    pub async fn by_token(&self, accessor: &str) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        if accessor.is_empty() || accessor.contains('/') {
            return Ok(out);
        }
        for hash in self.view.list(&format!("token/{accessor}/")).await? {
            let key = format!("token/{accessor}/{hash}");
            let Some(id) = self.view.get(&key).await? else {
                continue;
            };
            let id = String::from_utf8_lossy(&id).into_owned();
            if self.view.get(&id_key(&id)).await?.is_some() {
                out.push(id);
            } else {
                self.view.delete(&key).await?;
            }
        }
        Ok(out)
    }
}
