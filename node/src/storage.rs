//! `StorageView`: the barrier seen through a prefix. Every engine and system store reads and
//! writes through one of these, so a mount can never reach outside `logical/<mount-uuid>/`.

use crate::error::ApiError;
use coffer_barrier::Barrier;
use serde::{de::DeserializeOwned, Serialize};
use std::sync::Arc;

/// The barrier under a fixed prefix. Cheap to clone.
#[derive(Clone)]
pub struct StorageView {
    barrier: Arc<Barrier>,
    prefix: String,
}

impl StorageView {
    /// A view of `barrier` under `prefix` (which should end with `/`, or be empty for the root).
    pub fn new(barrier: Arc<Barrier>, prefix: impl Into<String>) -> Self {
        StorageView {
            barrier,
            prefix: prefix.into(),
        }
    }

    /// A view nested under this one.
    pub fn sub(&self, prefix: &str) -> StorageView {
        StorageView::new(self.barrier.clone(), format!("{}{}", self.prefix, prefix))
    }

    /// The prefix this view adds to every key.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    fn full(&self, key: &str) -> String {
        format!("{}{}", self.prefix, key)
    }

    /// Decrypted bytes at `key`, or `None`.
    pub async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, ApiError> {
        Ok(self.barrier.get(&self.full(key)).await?)
    }

    /// Encrypt and store `value` at `key`.
    pub async fn put(&self, key: &str, value: &[u8]) -> Result<(), ApiError> {
        Ok(self.barrier.put(&self.full(key), value).await?)
    }

    /// Encrypt and store each `(key, value)` together: one replicated write for all (see
    /// `coffer_barrier::Physical::put_many`), so a change that spans keys lands at once.
    pub async fn put_many(&self, entries: &[(&str, &[u8])]) -> Result<(), ApiError> {
        let full: Vec<String> = entries.iter().map(|(key, _)| self.full(key)).collect();
        let pairs: Vec<(&str, &[u8])> = full
            .iter()
            .zip(entries)
            .map(|(path, (_, value))| (path.as_str(), *value))
            .collect();
        Ok(self.barrier.put_many(&pairs).await?)
    }

    /// Remove `key` (no error if absent).
    pub async fn delete(&self, key: &str) -> Result<(), ApiError> {
        Ok(self.barrier.delete(&self.full(key)).await?)
    }

    /// Immediate children of `prefix` ("name" for entries, "name/" for folders), sorted.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        Ok(self.barrier.list(&self.full(prefix)).await?)
    }

    /// Read and decode a JSON value.
    pub async fn get_json<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, ApiError> {
        match self.get(key).await? {
            None => Ok(None),
            Some(bytes) => serde_json::from_slice(&bytes)
                .map(Some)
                .map_err(|e| ApiError::Internal(format!("corrupt entry at {key}: {e}"))),
        }
    }

    /// Encode and store a JSON value.
    pub async fn put_json<T: Serialize>(&self, key: &str, value: &T) -> Result<(), ApiError> {
        let bytes = serde_json::to_vec(value).map_err(ApiError::internal)?;
        self.put(key, &bytes).await
    }

    /// Every key below `prefix`, recursively (folders expanded), relative to this view.
    pub async fn list_recursive(&self, prefix: &str) -> Result<Vec<String>, ApiError> {
        let mut out = Vec::new();
        let mut pending = vec![prefix.to_string()];
        while let Some(dir) = pending.pop() {
            for child in self.list(&dir).await? {
                let full = format!("{dir}{child}");
                if child.ends_with('/') {
                    pending.push(full);
                } else {
                    out.push(full);
                }
            }
        }
        out.sort();
        Ok(out)
    }
}
