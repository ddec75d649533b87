//! A named transit key and its version rules, as plain data and plain functions (no I/O):
//! which version encrypts or signs, which versions may still decrypt or verify, rotation,
//! `config` and `trim`, and the `read` view. Vault's rules, with Vault's messages:
//! - versions start at 1; `latest_version` is the newest;
//! - `min_decryption_version` (≥ 1): older ciphertexts, signatures and HMACs are refused;
//! - `min_encryption_version`: the oldest version a request's `key_version` may select for new
//!   ciphertexts, signatures and HMACs (0: no minimum; without `key_version` the latest is used);
//! - `min_available_version`: versions below it are deleted for good (`trim`).

use super::ciphertext::Kind;
use super::error::TransitError;
use super::keytype::KeyType;
use super::material::KeyVersion;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// Bytes of an HMAC-type key's versions when `key_size` was not given.
pub const HMAC_KEY_SIZE_DEFAULT: usize = 32;

/// Vault's refusal of a ciphertext or signature older than `min_decryption_version`.
pub const ERR_TOO_OLD: &str = "ciphertext or signature version is disallowed by policy (too old)";

/// A named key with all its live versions.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TransitKey {
    pub name: String,
    #[serde(rename = "type")]
    pub kind: KeyType,
    pub derived: bool,
    #[serde(default)]
    pub convergent_encryption: bool,
    pub exportable: bool,
    pub allow_plaintext_backup: bool,
    pub deletion_allowed: bool,
    pub min_decryption_version: u32,
    pub min_encryption_version: u32,
    pub min_available_version: u32,
    pub latest_version: u32,
    #[serde(default)]
    pub auto_rotate_period: u64,
    /// Bytes of each version of an HMAC-type key (0: Vault's default, 32).
    #[serde(default)]
    pub key_size: u32,
    /// The material came from `keys/<name>/import` (BYOK), not from this server.
    #[serde(default)]
    pub imported: bool,
    /// An imported key may be rotated here (`allow_rotation` at import).
    #[serde(default)]
    pub allow_imported_key_rotation: bool,
    /// Every version from `max(min_available_version, 1)` to `latest_version`.
    pub versions: BTreeMap<u32, KeyVersion>,
}

/// The options of a new key.
#[derive(Debug, Clone, Copy, Default)]
pub struct CreateOptions {
    pub derived: bool,
    pub convergent: bool,
    pub exportable: bool,
    pub allow_plaintext_backup: bool,
    /// HMAC keys only: bytes per version (0: 32).
    pub key_size: u32,
}

/// Which operation asks for a version to make something new.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    Encryption,
    Signing,
    Hmac,
}

/// A `keys/<name>/config` write: each field present is a change.
#[derive(Debug, Clone, Default)]
pub struct ConfigUpdate {
    pub min_decryption_version: Option<i64>,
    pub min_encryption_version: Option<i64>,
    pub deletion_allowed: Option<bool>,
    pub exportable: Option<bool>,
    pub allow_plaintext_backup: Option<bool>,
    pub auto_rotate_period: Option<u64>,
}

impl TransitKey {
    /// A new key with its first version, generated off the async workers.
    pub async fn create(
        name: &str,
        kind: KeyType,
        opts: CreateOptions,
    ) -> Result<Self, TransitError> {
        let mut key = TransitKey::unversioned(name, kind, opts)?;
        key.rotate().await?;
        Ok(key)
    }

    /// A key with the given options, checked as Vault checks them, and no version yet (create
    /// generates the first, import adds the imported one).
    pub fn unversioned(
        name: &str,
        kind: KeyType,
        opts: CreateOptions,
    ) -> Result<Self, TransitError> {
        if (opts.derived || opts.convergent) && !kind.derivation_supported() {
            return Err(TransitError::user(format!(
                "key derivation and convergent encryption not supported for keys of type {}",
                kind.as_str()
            )));
        }
        if opts.convergent && !opts.derived {
            return Err(TransitError::user(
                "convergent encryption requires derivation to be enabled",
            ));
        }
        if opts.convergent && !kind.encryption_supported() {
            return Err(TransitError::user(format!(
                "convergent encryption not supported for keys of type {}",
                kind.as_str()
            )));
        }
        Ok(TransitKey {
            name: name.to_string(),
            kind,
            derived: opts.derived,
            convergent_encryption: opts.convergent,
            exportable: opts.exportable,
            allow_plaintext_backup: opts.allow_plaintext_backup,
            deletion_allowed: false,
            min_decryption_version: 1,
            min_encryption_version: 0,
            min_available_version: 0,
            latest_version: 0,
            auto_rotate_period: 0,
            key_size: opts.key_size,
            imported: false,
            allow_imported_key_rotation: false,
            versions: BTreeMap::new(),
        })
    }

    /// Add a new latest version, generated here. An imported key rotates only if its import
    /// allowed it (Vault's rule; its refusal is a plain error, which Vault answers with 500).
    /// The new version is generated on the blocking pool ([`crate::off_worker`]): an RSA-4096
    /// key takes about a second of CPU.
    pub async fn rotate(&mut self) -> Result<(), TransitError> {
        let (kind, size) = self.rotation()?;
        let generating = crate::off_worker::off_worker(move || KeyVersion::generate(kind, size));
        let version = generating
            .await
            .map_err(|e| TransitError::Internal(format!("generating a key: {e}")))??;
        self.push_version(version);
        Ok(())
    }

    /// The type and size of the next version, if this key may rotate.
    fn rotation(&self) -> Result<(KeyType, usize), TransitError> {
        if self.imported && !self.allow_imported_key_rotation {
            return Err(TransitError::Internal(format!(
                "imported key {} does not allow rotation within Vault",
                self.name
            )));
        }
        let size = match self.key_size {
            0 => HMAC_KEY_SIZE_DEFAULT,
            n => n as usize,
        };
        Ok((self.kind, size))
    }

    /// Add `version` as the new latest version.
    pub fn push_version(&mut self, version: KeyVersion) {
        self.latest_version += 1;
        self.versions.insert(self.latest_version, version);
    }

    /// The material of a version that still exists and is not below `min_decryption_version`
    /// (Vault keeps older ones out of reach too).
    pub fn version(&self, v: u32) -> Result<&KeyVersion, TransitError> {
        if v < self.min_decryption_version {
            return Err(TransitError::user("no such key version"));
        }
        self.versions
            .get(&v)
            .ok_or_else(|| TransitError::user("no such key version"))
    }

    /// The version that makes a new ciphertext, signature or HMAC, for a requested
    /// `key_version` (0: the latest).
    pub fn version_for(&self, requested: i64, purpose: Purpose) -> Result<u32, TransitError> {
        let word = match purpose {
            Purpose::Encryption => "encryption",
            Purpose::Signing => "signing",
            Purpose::Hmac => "HMAC",
        };
        let latest = i64::from(self.latest_version);
        let min_enc = i64::from(self.min_encryption_version);
        let v = match requested {
            0 => latest,
            r if r < 0 => {
                return Err(TransitError::user(format!(
                    "requested version for {word} is negative"
                )))
            }
            r if r > latest => {
                return Err(TransitError::user(format!(
                    "requested version for {word} is higher than the latest key version"
                )))
            }
            r if min_enc > 0 && r < min_enc => {
                return Err(TransitError::user(match purpose {
                    Purpose::Hmac => {
                        "cannot generate HMAC: version is too old (disallowed by policy)".into()
                    }
                    _ => format!(
                    "requested version for {word} is less than the minimum encryption key version"
                ),
                }))
            }
            r => r,
        };
        u32::try_from(v).map_err(|_| TransitError::user("invalid key version"))
    }

    /// Whether a value made by version `v` may still be decrypted or verified.
    pub fn check_readable(&self, v: u32, kind: Kind) -> Result<(), TransitError> {
        let noun = match kind {
            Kind::Ciphertext => "ciphertext",
            Kind::Signature => "signature",
            Kind::Hmac => "HMAC",
        };
        if v > self.latest_version {
            return Err(TransitError::user(format!(
                "invalid {noun}: version is too new"
            )));
        }
        if v < self.min_decryption_version {
            return Err(TransitError::user(match kind {
                Kind::Hmac => "cannot verify HMAC: version is too old (disallowed by policy)",
                _ => ERR_TOO_OLD,
            }));
        }
        Ok(())
    }

    /// Apply a config write; on error nothing changes. Returns Vault's warnings.
    pub fn configure(&mut self, update: &ConfigUpdate) -> Result<Vec<String>, TransitError> {
        let mut next = self.clone();
        let mut warnings = Vec::new();
        if let Some(min_dec) = update.min_decryption_version {
            if min_dec < 0 {
                return Err(TransitError::user(
                    "min decryption version cannot be negative",
                ));
            }
            let min_dec = if min_dec == 0 {
                warnings.push(
                    "since Vault 0.3, transit key numbering starts at 1; forcing minimum to 1"
                        .to_string(),
                );
                1
            } else {
                min_dec
            };
            if min_dec > i64::from(next.latest_version) {
                return Err(TransitError::user(format!(
                    "cannot set min decryption version of {min_dec}, latest key version is {}",
                    next.latest_version
                )));
            }
            next.min_decryption_version = min_dec as u32;
        }
        if let Some(min_enc) = update.min_encryption_version {
            if min_enc < 0 {
                return Err(TransitError::user(
                    "min encryption version cannot be negative",
                ));
            }
            if min_enc > i64::from(next.latest_version) {
                return Err(TransitError::user(format!(
                    "cannot set min encryption version of {min_enc}, latest key version is {}",
                    next.latest_version
                )));
            }
            next.min_encryption_version = min_enc as u32;
        }
        if next.min_encryption_version > 0
            && next.min_encryption_version < next.min_decryption_version
        {
            return Err(TransitError::user(format!(
                "cannot set min encryption/decryption values; min encryption version of {} must be greater than or equal to min decryption version of {}",
                next.min_encryption_version, next.min_decryption_version
            )));
        }
        if let Some(allowed) = update.deletion_allowed {
            next.deletion_allowed = allowed;
        }
        // Once set, these two cannot be unset (Vault ignores `false`).
        if update.exportable == Some(true) {
            next.exportable = true;
        }
        if update.allow_plaintext_backup == Some(true) {
            next.allow_plaintext_backup = true;
        }
        if let Some(period) = update.auto_rotate_period {
            if period != 0 && period < 3600 {
                return Err(TransitError::user(
                    "auto rotate period must be 0 to disable or at least an hour",
                ));
            }
            next.auto_rotate_period = period;
        }
        if next != *self {
            if next.min_available_version > next.min_encryption_version {
                return Err(TransitError::user(
                    "min encryption version should not be less than min available version",
                ));
            }
            if next.min_available_version > next.min_decryption_version {
                return Err(TransitError::user(
                    "min decryption version should not be less then min available version",
                ));
            }
        }
        *self = next;
        Ok(warnings)
    }

    /// Delete every version below `min_available`, for good.
    pub fn trim(&mut self, min_available: i64) -> Result<(), TransitError> {
        let err = |m: &str| Err(TransitError::user(m));
        match min_available {
            m if m < i64::from(self.min_available_version) => {
                return err("minimum available version cannot be decremented")
            }
            _ if self.min_encryption_version == 0 => {
                return err("minimum available version cannot be set when minimum encryption version is not set")
            }
            m if m > i64::from(self.min_encryption_version) => {
                return err("minimum available version cannot be greater than minmum encryption version")
            }
            m if m > i64::from(self.min_decryption_version) => {
                return err("minimum available version cannot be greater than minimum decryption version")
            }
            m if m < 0 => return err("minimum available version cannot be negative"),
            0 => return err("minimum available version should be positive"),
            _ => {}
        }
        let min = min_available as u32;
        self.min_available_version = min;
        self.versions.retain(|v, _| *v >= min);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn aes(name: &str) -> TransitKey {
        TransitKey::create(name, KeyType::Aes256Gcm96, CreateOptions::default())
            .await
            .unwrap()
    }

    #[tokio::test]
    async fn new_keys_start_at_version_one() {
        let k = aes("a").await;
        assert_eq!(k.latest_version, 1);
        assert_eq!(k.min_decryption_version, 1);
        assert_eq!(k.min_encryption_version, 0);
        assert_eq!(k.versions.len(), 1);
        let j = k.to_json();
        assert_eq!(j["type"], "aes256-gcm96");
        assert!(j["keys"]["1"].is_i64());
        assert_eq!(j["supports_signing"], false);
        assert!(j.get("kdf").is_none());
    }

    #[tokio::test]
    async fn derivation_is_refused_where_vault_refuses_it() {
        let derived = CreateOptions {
            derived: true,
            ..Default::default()
        };
        assert!(TransitKey::create("e", KeyType::EcdsaP256, derived)
            .await
            .is_err());
        assert!(TransitKey::create("r", KeyType::Rsa2048, derived)
            .await
            .is_err());
        let d = TransitKey::create("d", KeyType::Ed25519, derived)
            .await
            .unwrap();
        assert_eq!(d.to_json()["kdf"], "hkdf_sha256");
        assert_eq!(d.to_json()["keys"]["1"]["public_key"], "");
        let convergent = CreateOptions {
            convergent: true,
            ..Default::default()
        };
        assert!(TransitKey::create("c", KeyType::Aes256Gcm96, convergent)
            .await
            .is_err());
    }

    #[tokio::test]
    async fn version_selection_follows_latest_and_min_encryption() {
        let mut k = aes("a").await;
        k.rotate().await.unwrap();
        k.rotate().await.unwrap();
        assert_eq!(k.version_for(0, Purpose::Encryption).unwrap(), 3);
        assert_eq!(k.version_for(1, Purpose::Encryption).unwrap(), 1);
        assert!(k.version_for(4, Purpose::Encryption).is_err());
        assert!(k.version_for(-1, Purpose::Signing).is_err());
        k.configure(&ConfigUpdate {
            min_encryption_version: Some(2),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            k.version_for(1, Purpose::Encryption)
                .unwrap_err()
                .to_string(),
            "requested version for encryption is less than the minimum encryption key version"
        );
        assert_eq!(k.version_for(2, Purpose::Encryption).unwrap(), 2);
    }

    #[tokio::test]
    async fn min_decryption_version_refuses_old_values() {
        let mut k = aes("a").await;
        k.rotate().await.unwrap();
        assert!(k.check_readable(1, Kind::Ciphertext).is_ok());
        k.configure(&ConfigUpdate {
            min_decryption_version: Some(2),
            ..Default::default()
        })
        .unwrap();
        assert_eq!(
            k.check_readable(1, Kind::Ciphertext)
                .unwrap_err()
                .to_string(),
            ERR_TOO_OLD
        );
        assert_eq!(
            k.check_readable(3, Kind::Signature)
                .unwrap_err()
                .to_string(),
            "invalid signature: version is too new"
        );
        assert!(k.version(1).is_err());
        // Version 1 is out of view but not gone: lowering the minimum brings it back.
        let keys = k.to_json()["keys"].as_object().unwrap().clone();
        assert_eq!(keys.keys().collect::<Vec<_>>(), vec!["2"]);
        k.configure(&ConfigUpdate {
            min_decryption_version: Some(1),
            ..Default::default()
        })
        .unwrap();
        assert!(k.version(1).is_ok());
    }

    #[tokio::test]
    async fn config_validates_and_changes_nothing_on_error() {
        let mut k = aes("a").await;
        let before = k.clone();
        let e = k
            .configure(&ConfigUpdate {
                min_decryption_version: Some(5),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "cannot set min decryption version of 5, latest key version is 1"
        );
        k.rotate().await.unwrap();
        k.rotate().await.unwrap();
        let before_rotated = k.clone();
        let e = k
            .configure(&ConfigUpdate {
                min_decryption_version: Some(3),
                min_encryption_version: Some(2),
                deletion_allowed: Some(true),
                ..Default::default()
            })
            .unwrap_err();
        assert!(e
            .to_string()
            .starts_with("cannot set min encryption/decryption values"));
        assert_eq!(k, before_rotated);
        assert_ne!(k, before);
        let warnings = k
            .configure(&ConfigUpdate {
                min_decryption_version: Some(0),
                ..Default::default()
            })
            .unwrap();
        assert_eq!(warnings.len(), 1);
        assert_eq!(k.min_decryption_version, 1);
        k.configure(&ConfigUpdate {
            exportable: Some(true),
            ..Default::default()
        })
        .unwrap();
        k.configure(&ConfigUpdate {
            exportable: Some(false),
            ..Default::default()
        })
        .unwrap();
        assert!(k.exportable, "exportable cannot be unset");
    }

    #[tokio::test]
    async fn trim_deletes_old_versions_within_the_minimums() {
        let mut k = aes("a").await;
        for _ in 0..3 {
            k.rotate().await.unwrap();
        }
        assert_eq!(
            k.trim(2).unwrap_err().to_string(),
            "minimum available version cannot be set when minimum encryption version is not set"
        );
        k.configure(&ConfigUpdate {
            min_decryption_version: Some(3),
            min_encryption_version: Some(4),
            ..Default::default()
        })
        .unwrap();
        assert!(k.trim(4).is_err(), "above min_decryption_version");
        assert_eq!(
            k.trim(0).unwrap_err().to_string(),
            "minimum available version should be positive"
        );
        k.trim(3).unwrap();
        assert_eq!(k.versions.keys().copied().collect::<Vec<_>>(), vec![3, 4]);
        assert_eq!(
            k.trim(2).unwrap_err().to_string(),
            "minimum available version cannot be decremented"
        );
        // Trimmed versions cannot come back into view.
        let e = k
            .configure(&ConfigUpdate {
                min_decryption_version: Some(2),
                ..Default::default()
            })
            .unwrap_err();
        assert_eq!(
            e.to_string(),
            "min decryption version should not be less then min available version"
        );
    }

    #[tokio::test]
    async fn stored_form_round_trips() {
        let k = TransitKey::create("s", KeyType::EcdsaP256, CreateOptions::default())
            .await
            .unwrap();
        let bytes = serde_json::to_vec(&k).unwrap();
        let back: TransitKey = serde_json::from_slice(&bytes).unwrap();
        assert_eq!(back, k);
        assert_eq!(back.to_json()["keys"]["1"]["name"], "P-256");
    }
}
