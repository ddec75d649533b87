//! `auto_rotate_period`: a key whose latest version is older than its period gets a new
//! version. Vault checks every key from a periodic task; Coffer checks lazily, when a request
//! loads the key (encrypt, decrypt, rewrap, datakey, hmac, sign, verify, read), so a key that
//! nobody uses is rotated at its next use, before that use. The check is `rotation_due`, a
//! plain function; `load` applies it under the mount's write lock.

use super::key::TransitKey;
use super::{store, Transit};
use crate::error::ApiError;
use crate::storage::StorageView;

/// Whether `key` is due for rotation at `now` (Unix seconds): a period is set, the key may be
/// rotated here, and its latest version is at least that old.
pub fn rotation_due(key: &TransitKey, now: i64) -> bool {
    if key.auto_rotate_period == 0 || (key.imported && !key.allow_imported_key_rotation) {
        return false;
    }
    let period = i64::try_from(key.auto_rotate_period).unwrap_or(i64::MAX);
    key.versions
        .get(&key.latest_version)
        .is_some_and(|latest| now >= latest.creation_time.saturating_add(period))
}

/// The key named `name`, rotated first if it is due.
pub async fn load(
    engine: &Transit,
    storage: &StorageView,
    name: &str,
) -> Result<Option<TransitKey>, ApiError> {
    let Some(key) = store::load(storage, name).await? else {
        return Ok(None);
    };
    if !rotation_due(&key, crate::clock::unix_now()) {
        return Ok(Some(key));
    }
    let _guard = engine.writes.lock().await;
    // Again under the lock: a concurrent request may have rotated or deleted it.
    let Some(mut key) = store::load(storage, name).await? else {
        return Ok(None);
    };
    if rotation_due(&key, crate::clock::unix_now()) {
        key.rotate().await?;
        store::save(storage, &key).await?;
    }
    Ok(Some(key))
}

/// The key named `name` for an operation that needs it (Vault's 400 when it is missing).
pub async fn existing(
    engine: &Transit,
    storage: &StorageView,
    name: &str,
) -> Result<TransitKey, ApiError> {
    load(engine, storage, name)
        .await?
        .ok_or_else(|| ApiError::bad("encryption key not found"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::transit::key::CreateOptions;
    use crate::engines::transit::keytype::KeyType;

    #[tokio::test]
    async fn due_once_the_latest_version_is_a_period_old() {
        let mut k = TransitKey::create("a", KeyType::Aes256Gcm96, CreateOptions::default())
            .await
            .unwrap();
        let born = k.versions[&1].creation_time;
        assert!(!rotation_due(&k, born + 10 * 3600), "no period, never due");
        k.auto_rotate_period = 3600;
        assert!(!rotation_due(&k, born + 3599));
        assert!(rotation_due(&k, born + 3600));
        k.rotate().await.unwrap();
        let newest = k.versions[&2].creation_time;
        assert!(
            !rotation_due(&k, newest + 10),
            "the new version restarts the period"
        );
        k.imported = true;
        assert!(
            !rotation_due(&k, newest + 7200),
            "imported keys rotate only if allowed"
        );
        k.allow_imported_key_rotation = true;
        assert!(rotation_due(&k, newest + 7200));
    }
}
