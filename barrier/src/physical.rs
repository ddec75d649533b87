//! Where the barrier's bytes go: the [`Physical`] trait and its error type.
//!
//! A `Physical` is a flat map from string keys to byte values with Vault-style folder listing.
//! It sees only ciphertext (plus the few plain pre-unseal records node writes directly).
//! Implementations: [`crate::MemPhysical`] here; node adapts raft's replicated store.
//! Every implementation must pass [`crate::conformance::run_physical_suite`].

/// Failure of the underlying store.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PhysicalError {
    /// The store failed to read or write.
    #[error("storage I/O error: {0}")]
    Io(String),
    /// The store cannot serve right now (no leader, shutting down, timed out); retry later.
    #[error("storage unavailable: {0}")]
    Unavailable(String),
    /// The change is larger than one replicated entry may be (Vault's `max_entry_size`); it was
    /// not proposed. The message is Vault's.
    #[error("put failed due to value being too large; got {size} bytes, max: {max} bytes")]
    TooLarge {
        /// Bytes of keys and values in the change.
        size: u64,
        /// The store's limit.
        max: u64,
    },
}

/// A key/value store the barrier writes through.
#[async_trait::async_trait]
pub trait Physical: Send + Sync + 'static {
    /// The value at `key`, or `None` if there is none.
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PhysicalError>;
    /// Store `value` at `key`, replacing any previous value.
    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), PhysicalError>;
    /// Store several pairs, in order. A store that can (the Raft store) writes them as one
    /// atomic change, one replicated entry instead of one per pair; this default puts them one
    /// by one.
    async fn put_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), PhysicalError> {
        for (key, value) in pairs {
            self.put(&key, value).await?;
        }
        Ok(())
    }
    /// Remove `key`; removing a missing key is not an error.
    async fn delete(&self, key: &str) -> Result<(), PhysicalError>;
    /// Immediate children of prefix, Vault style: "leaf" for entries, "dir/" for folders (deduplicated), sorted.
    async fn list(&self, prefix: &str) -> Result<Vec<String>, PhysicalError>;
}

/// Vault-style listing over keys in sorted order: the immediate children of `prefix` among
/// `keys`, entries as "leaf", folders as "dir/" (once each). Shared by in-memory stores.
pub(crate) fn list_children<'a>(
    prefix: &str,
    keys: impl IntoIterator<Item = &'a str>,
) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for key in keys {
        let Some(rest) = key.strip_prefix(prefix) else {
            continue;
        };
        let child = match rest.find('/') {
            Some(i) => &rest[..=i],
            None => rest,
        };
        if out.last().map(String::as_str) != Some(child) {
            out.push(child.to_string());
        }
    }
    out.sort();
    out.dedup();
    out
}

#[cfg(test)]
mod tests {
    use super::list_children;

    #[test]
    fn list_children_folds_folders() {
        let keys = ["a/b/c", "a/b/d", "a/e", "b", "ab/x"];
        assert_eq!(list_children("a/", keys), ["b/", "e"]);
        assert_eq!(list_children("", keys), ["a/", "ab/", "b"]);
        assert_eq!(list_children("a/b/", keys), ["c", "d"]);
        assert!(list_children("zz/", keys).is_empty());
    }
}
