//! The `backup/<name>` blob: base64 of a JSON document holding the whole key, every version's
//! secret bytes included, in the clear. That is what Vault's backup is too (base64 of its
//! `KeyData` JSON): it is encrypted by nothing, which is why Vault, and Coffer, hand it out only
//! for keys created `exportable` with `allow_plaintext_backup`. Whoever holds the blob holds
//! the key; keep it as you would the key. The blob is Coffer's own format (Vault's key records
//! differ): a backup restores into Coffer, not into Vault, and the other way round.

use super::error::TransitError;
use super::key::TransitKey;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde::{Deserialize, Serialize};
use zeroize::Zeroizing;

/// The one format this server writes and reads.
const FORMAT: &str = "coffer-transit-backup-v1";

#[derive(Serialize, Deserialize)]
struct Blob {
    format: String,
    policy: TransitKey,
}

/// Vault's refusals (its backend returns them as plain errors, so they reach the client as 500s).
pub fn check_allowed(key: &TransitKey) -> Result<(), TransitError> {
    if !key.exportable {
        return Err(TransitError::Internal(
            "exporting is disallowed on the policy".into(),
        ));
    }
    if !key.allow_plaintext_backup {
        return Err(TransitError::Internal(
            "plaintext backup is disallowed on the policy".into(),
        ));
    }
    Ok(())
}

/// The backup blob of `key`.
pub fn encode(key: &TransitKey) -> Result<Zeroizing<String>, TransitError> {
    check_allowed(key)?;
    let blob = Blob {
        format: FORMAT.into(),
        policy: key.clone(),
    };
    let json = Zeroizing::new(
        serde_json::to_vec(&blob)
            .map_err(|e| TransitError::Internal(format!("encoding the backup: {e}")))?,
    );
    Ok(Zeroizing::new(STANDARD.encode(&*json)))
}

/// The key a blob holds, checked for consistency; renamed to `name` when one is given.
pub fn decode(blob: &str, name: Option<&str>) -> Result<TransitKey, TransitError> {
    let bad = |why: &str| TransitError::user(format!("invalid backup: {why}"));
    let json = Zeroizing::new(
        STANDARD
            .decode(blob.trim())
            .map_err(|_| bad("not base64"))?,
    );
    let blob: Blob =
        serde_json::from_slice(&json).map_err(|_| bad("not a Coffer transit backup"))?;
    if blob.format != FORMAT {
        return Err(bad("unknown format"));
    }
    let mut key = blob.policy;
    if let Some(name) = name {
        key.name = name.to_string();
    }
    let first = key.versions.keys().next().copied();
    let consistent = key.versions.contains_key(&key.latest_version)
        && first.is_some_and(|f| f >= key.min_available_version && f <= key.min_decryption_version)
        && key.min_decryption_version <= key.latest_version
        && key.min_encryption_version <= key.latest_version;
    if !consistent {
        return Err(bad("its key versions are inconsistent"));
    }
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::transit::key::CreateOptions;
    use crate::engines::transit::keytype::KeyType;

    async fn key(exportable: bool, backup: bool) -> TransitKey {
        let opts = CreateOptions {
            exportable,
            allow_plaintext_backup: backup,
            ..Default::default()
        };
        TransitKey::create("k", KeyType::Aes256Gcm96, opts)
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn only_exportable_keys_with_plaintext_backup_are_backed_up() {
        assert_eq!(
            encode(&key(false, true).await).unwrap_err().to_string(),
            "exporting is disallowed on the policy"
        );
        assert_eq!(
            encode(&key(true, false).await).unwrap_err().to_string(),
            "plaintext backup is disallowed on the policy"
        );
    }

    #[tokio::test]
    async fn a_blob_round_trips_and_can_be_renamed() {
        let mut k = key(true, true).await;
        k.rotate().await.unwrap();
        let blob = encode(&k).unwrap();
        assert_eq!(decode(&blob, None).unwrap(), k);
        let renamed = decode(&blob, Some("other")).unwrap();
        assert_eq!(renamed.name, "other");
        assert_eq!(renamed.versions, k.versions);
        assert!(decode("!!", None).is_err());
        assert!(decode(&STANDARD.encode(b"{}"), None).is_err());
        let mut broken = k.clone();
        broken.latest_version = 7;
        let json = serde_json::to_vec(&Blob {
            format: FORMAT.into(),
            policy: broken,
        })
        .unwrap();
        assert!(decode(&STANDARD.encode(json), None).is_err());
    }
}
