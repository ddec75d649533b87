//! The transit calls behind the KMS API: encrypt and decrypt a DEK seed with one named key, and
//! read the key to learn its latest version (the plugin's `key_id`) and whether it is usable.

use crate::plugin_client::{ClientError, Session};
use base64::Engine as _;
use serde_json::{json, Value};

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Why a transit operation failed.
#[derive(Debug, thiserror::Error)]
pub enum TransitError {
    #[error(transparent)]
    Coffer(#[from] ClientError),
    /// Coffer answered, but not what transit answers.
    #[error("unexpected transit answer: {0}")]
    Shape(&'static str),
    /// The key exists but cannot do what the KMS API needs.
    #[error("transit key {0:?} cannot encrypt and decrypt")]
    Unusable(String),
    /// The ciphertext is not one this plugin wrote.
    #[error("ciphertext is not a transit ciphertext")]
    Ciphertext,
}

/// The stable id of version `version` of `key`: it changes exactly when the key rotates.
pub fn key_id(key: &str, version: u64) -> String {
    format!("{key}:v{version}")
}

/// One transit key at one mount, reached through a session.
#[derive(Debug)]
pub struct TransitKey {
    pub session: Session,
    pub mount: String,
    pub key: String,
}

impl TransitKey {
    fn path(&self, op: &str) -> String {
        format!("{}/{op}/{}", self.mount.trim_matches('/'), self.key)
    }

    /// Encrypt `plaintext`: the transit ciphertext (`vault:vN:...`) as bytes, and the key id
    /// of the version that wrote it.
    pub async fn encrypt(&self, plaintext: &[u8]) -> Result<(Vec<u8>, String), TransitError> {
        let body = json!({"plaintext": B64.encode(plaintext)});
        let answer = self
            .session
            .call("POST", &self.path("encrypt"), Some(&body))
            .await?;
        let data = &answer["data"];
        let ciphertext = data["ciphertext"]
            .as_str()
            .ok_or(TransitError::Shape("no data.ciphertext"))?;
        let version = match data["key_version"].as_u64() {
            Some(v) => v,
            None => version_of(ciphertext).ok_or(TransitError::Shape("no key version"))?,
        };
        Ok((ciphertext.as_bytes().to_vec(), key_id(&self.key, version)))
    }

    /// Decrypt a ciphertext `encrypt` produced. Transit itself refuses versions below the key's
    /// `min_decryption_version`.
    pub async fn decrypt(&self, ciphertext: &[u8]) -> Result<Vec<u8>, TransitError> {
        let text = std::str::from_utf8(ciphertext).map_err(|_| TransitError::Ciphertext)?;
        if version_of(text).is_none() {
            return Err(TransitError::Ciphertext);
        }
        let body = json!({"ciphertext": text});
        let answer = self
            .session
            .call("POST", &self.path("decrypt"), Some(&body))
            .await?;
        let plaintext = answer["data"]["plaintext"]
            .as_str()
            .ok_or(TransitError::Shape("no data.plaintext"))?;
        B64.decode(plaintext)
            .map_err(|_| TransitError::Shape("plaintext is not base64"))
    }

    /// Read the key: the key id of its latest version, once it is known to encrypt and decrypt.
    pub async fn current_key_id(&self) -> Result<String, TransitError> {
        let answer = self.session.call("GET", &self.path("keys"), None).await?;
        let data = &answer["data"];
        if !usable(data) {
            return Err(TransitError::Unusable(self.key.clone()));
        }
        let latest = data["latest_version"]
            .as_u64()
            .ok_or(TransitError::Shape("no data.latest_version"))?;
        Ok(key_id(&self.key, latest))
    }
}

/// Whether a `transit/keys/<name>` read describes a key that can both encrypt and decrypt.
fn usable(data: &Value) -> bool {
    data["supports_encryption"].as_bool() == Some(true)
        && data["supports_decryption"].as_bool() != Some(false)
}

/// The version in a `vault:v<N>:<base64>` ciphertext.
pub fn version_of(ciphertext: &str) -> Option<u64> {
    let rest = ciphertext.strip_prefix("vault:v")?;
    let (version, body) = rest.split_once(':')?;
    if body.is_empty() {
        return None;
    }
    version.parse().ok().filter(|v| *v > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn key_ids_follow_the_version() {
        assert_eq!(key_id("etcd", 1), "etcd:v1");
        assert_ne!(key_id("etcd", 1), key_id("etcd", 2));
    }

    #[test]
    fn ciphertext_versions_are_read_from_the_prefix() {
        assert_eq!(version_of("vault:v3:abcd"), Some(3));
        assert_eq!(version_of("vault:v0:abcd"), None);
        assert_eq!(version_of("vault:v3:"), None);
        assert_eq!(version_of("k8s:enc:kms:v2"), None);
    }

    #[test]
    fn only_keys_that_encrypt_are_usable() {
        assert!(usable(
            &json!({"supports_encryption": true, "supports_decryption": true})
        ));
        assert!(!usable(&json!({"supports_encryption": false})));
        assert!(!usable(&json!({})));
    }
}
