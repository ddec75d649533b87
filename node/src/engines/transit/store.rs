//! Where transit keys live in the mount's `StorageView` (so, behind the barrier): one JSON
//! record per key at `policy/<name>`, as Vault names it, and the import wrapping key at
//! `import/key`. The serialized bytes, which hold key
//! material, are zeroized once written or parsed.

use super::key::TransitKey;
use crate::error::ApiError;
use crate::storage::StorageView;
use zeroize::Zeroize;

const PREFIX: &str = "policy/";

/// Vault's key names: word characters, `-` and `.`, no slashes.
pub fn valid_name(name: &str) -> bool {
    !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'-' | b'.'))
}

/// Where the RSA-4096 key that wraps imported key material lives (Vault's path).
pub const WRAPPING_KEY_PATH: &str = "import/key";

/// The key named `name`, if it exists.
pub async fn load(storage: &StorageView, name: &str) -> Result<Option<TransitKey>, ApiError> {
    load_at(storage, &format!("{PREFIX}{name}"), name).await
}

/// The key stored at `path`, if it exists (`name` only names it in errors).
pub async fn load_at(
    storage: &StorageView,
    path: &str,
    name: &str,
) -> Result<Option<TransitKey>, ApiError> {
    let Some(mut bytes) = storage.get(path).await? else {
        return Ok(None);
    };
    let parsed = serde_json::from_slice(&bytes);
    bytes.zeroize();
    parsed
        .map(Some)
        .map_err(|e| ApiError::Internal(format!("corrupt transit key {name}: {e}")))
}

/// Store `key` (replacing what was there).
pub async fn save(storage: &StorageView, key: &TransitKey) -> Result<(), ApiError> {
    save_at(storage, &format!("{PREFIX}{}", key.name), key).await
}

/// Store `key` at `path`.
pub async fn save_at(storage: &StorageView, path: &str, key: &TransitKey) -> Result<(), ApiError> {
    let mut bytes = serde_json::to_vec(key).map_err(ApiError::internal)?;
    let result = storage.put(path, &bytes).await;
    bytes.zeroize();
    result
}

/// Remove the key named `name`.
pub async fn delete(storage: &StorageView, name: &str) -> Result<(), ApiError> {
    storage.delete(&format!("{PREFIX}{name}")).await
}

/// Names of all keys, sorted.
pub async fn list(storage: &StorageView) -> Result<Vec<String>, ApiError> {
    storage.list(PREFIX).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_vaults_generic_names() {
        assert!(valid_name("my-key_1.v2"));
        assert!(!valid_name(""));
        assert!(!valid_name("a/b"));
        assert!(!valid_name("a b"));
    }
}
