//! `core/seal-config`: the plain (pre-unseal) record of how the seal is set
//! up, read before anything can be decrypted. It holds no key material.

use serde::{Deserialize, Deserializer, Serialize};

use crate::error::SealError;
use crate::shamir;

/// Seal type names, as Vault spells them.
pub const SEAL_TYPE_SHAMIR: &str = "shamir";
/// See [`SEAL_TYPE_SHAMIR`].
pub const SEAL_TYPE_AWSKMS: &str = "awskms";
/// See [`SEAL_TYPE_SHAMIR`].
pub const SEAL_TYPE_PKCS11: &str = "pkcs11";
/// See [`SEAL_TYPE_SHAMIR`].
pub const SEAL_TYPE_TRANSIT: &str = "transit";

/// The seal (or recovery) configuration, stored unencrypted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealConfig {
    /// "shamir", "awskms", "pkcs11" or "transit".
    #[serde(rename = "type")]
    pub type_: String,
    /// Number of key shares handed out (n).
    pub secret_shares: u8,
    /// Shares needed to unseal (or authorise, for recovery keys) (t).
    pub secret_threshold: u8,
    /// Keys stored by the seal itself; 1 for every seal since Vault 1.3.
    #[serde(default)]
    pub stored_shares: u8,
    /// PGP keys the shares were encrypted to; always empty in Coffer.
    #[serde(default, deserialize_with = "null_as_default")]
    pub pgp_keys: Vec<String>,
    /// Nonce of the rekey that produced this configuration, if any.
    #[serde(default)]
    pub nonce: String,
    /// Whether a backup of PGP-encrypted shares was kept.
    #[serde(default)]
    pub backup: bool,
}

impl SealConfig {
    /// A Shamir configuration with `shares`/`threshold`, as init writes it.
    pub fn shamir(shares: u8, threshold: u8) -> Self {
        Self {
            type_: SEAL_TYPE_SHAMIR.to_owned(),
            secret_shares: shares,
            secret_threshold: threshold,
            stored_shares: 1,
            pgp_keys: Vec::new(),
            nonce: String::new(),
            backup: false,
        }
    }

    /// Sanity checks, with Vault's `SealConfig.Validate` messages.
    pub fn validate(&self) -> Result<(), SealError> {
        if self.type_.is_empty() {
            return Err(SealError::InvalidRequest(
                "seal type must be set".to_owned(),
            ));
        }
        shamir::validate_params(self.secret_shares, self.secret_threshold)?;
        if self.stored_shares > 1 {
            return Err(SealError::InvalidShares(
                "stored keys cannot be larger than 1".to_owned(),
            ));
        }
        if !self.pgp_keys.is_empty() {
            return Err(SealError::PgpNotSupported);
        }
        Ok(())
    }
}

/// Reads JSON `null` as the type's default (Go writes nil slices as `null`).
pub(crate) fn null_as_default<'de, D, T>(d: D) -> Result<T, D::Error>
where
    D: Deserializer<'de>,
    T: Default + Deserialize<'de>,
{
    Ok(Option::<T>::deserialize(d)?.unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serde_uses_vault_field_names() {
        let c = SealConfig::shamir(5, 3);
        let json = serde_json::to_value(&c).unwrap();
        assert_eq!(json["type"], "shamir");
        assert_eq!(json["secret_shares"], 5);
        assert_eq!(json["stored_shares"], 1);
        let back: SealConfig = serde_json::from_value(json).unwrap();
        assert_eq!(back, c);
        let vaultish: SealConfig = serde_json::from_str(
            r#"{"type":"awskms","secret_shares":1,"secret_threshold":1,"pgp_keys":null}"#,
        )
        .unwrap();
        assert!(vaultish.pgp_keys.is_empty());
        vaultish.validate().unwrap();
    }

    #[test]
    fn validate_rejects_bad_configs() {
        SealConfig::shamir(5, 3).validate().unwrap();
        SealConfig::shamir(1, 1).validate().unwrap();
        assert!(SealConfig::shamir(0, 0).validate().is_err());
        assert!(SealConfig::shamir(3, 1).validate().is_err());
        assert!(SealConfig::shamir(3, 4).validate().is_err());
        let mut c = SealConfig::shamir(3, 2);
        c.stored_shares = 2;
        assert!(c.validate().is_err());
        let mut c = SealConfig::shamir(3, 2);
        c.pgp_keys = vec!["k".into(); 3];
        assert_eq!(c.validate(), Err(SealError::PgpNotSupported));
        let mut c = SealConfig::shamir(3, 2);
        c.type_.clear();
        assert!(c.validate().is_err());
    }
}
