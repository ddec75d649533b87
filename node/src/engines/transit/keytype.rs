//! The key types transit offers and what each can do, as Vault's `keysutil.KeyType` reports it
//! (`supports_encryption`, `supports_signing`, ...), and the hash algorithms signing, HMAC and
//! `hash/` take.

use super::error::TransitError;
use hmac::{Hmac, Mac};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha224, Sha256, Sha384, Sha512};

/// A transit key's type, named as Vault names it on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum KeyType {
    #[serde(rename = "aes256-gcm96")]
    Aes256Gcm96,
    #[serde(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
    #[serde(rename = "ed25519")]
    Ed25519,
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
}

impl KeyType {
    /// Parse the `type` field of a create request.
    pub fn parse(s: &str) -> Result<KeyType, TransitError> {
        match s {
            "aes256-gcm96" => Ok(KeyType::Aes256Gcm96),
            "chacha20-poly1305" => Ok(KeyType::ChaCha20Poly1305),
            "ed25519" => Ok(KeyType::Ed25519),
            "ecdsa-p256" => Ok(KeyType::EcdsaP256),
            "rsa-2048" => Ok(KeyType::Rsa2048),
            other => Err(TransitError::User(format!("unknown key type {other}"))),
        }
    }

    /// The wire name (`aes256-gcm96`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Aes256Gcm96 => "aes256-gcm96",
            KeyType::ChaCha20Poly1305 => "chacha20-poly1305",
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::Rsa2048 => "rsa-2048",
        }
    }

    /// Symmetric AEAD keys (32 random bytes, a nonce prepended to each ciphertext).
    pub fn is_symmetric(self) -> bool {
        matches!(self, KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305)
    }

    /// `supports_encryption` and `supports_decryption`.
    pub fn encryption_supported(self) -> bool {
        self.is_symmetric() || self == KeyType::Rsa2048
    }

    /// `supports_signing`.
    pub fn signing_supported(self) -> bool {
        matches!(
            self,
            KeyType::Ed25519 | KeyType::EcdsaP256 | KeyType::Rsa2048
        )
    }

    /// `supports_derivation`: a per-request `context` derives the key actually used.
    pub fn derivation_supported(self) -> bool {
        self.is_symmetric() || self == KeyType::Ed25519
    }

    /// Whether signing hashes the input first (ECDSA and RSA do; Ed25519 hashes internally).
    pub fn hashes_signature_input(self) -> bool {
        matches!(self, KeyType::EcdsaP256 | KeyType::Rsa2048)
    }
}

/// A hash algorithm by Vault's name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HashAlgorithm {
    Sha2_224,
    Sha2_256,
    Sha2_384,
    Sha2_512,
    /// Sign the input as given (RSA PKCS#1 v1.5 only).
    None,
}

impl HashAlgorithm {
    /// Parse `sha2-256` and friends; an empty name is the default, `sha2-256`.
    pub fn parse(s: &str) -> Option<HashAlgorithm> {
        match s {
            "" | "sha2-256" => Some(HashAlgorithm::Sha2_256),
            "sha2-224" => Some(HashAlgorithm::Sha2_224),
            "sha2-384" => Some(HashAlgorithm::Sha2_384),
            "sha2-512" => Some(HashAlgorithm::Sha2_512),
            "none" => Some(HashAlgorithm::None),
            _ => None,
        }
    }

    /// The digest of `input` (`None`: the input itself).
    pub fn digest(self, input: &[u8]) -> Vec<u8> {
        match self {
            HashAlgorithm::Sha2_224 => Sha224::digest(input).to_vec(),
            HashAlgorithm::Sha2_256 => Sha256::digest(input).to_vec(),
            HashAlgorithm::Sha2_384 => Sha384::digest(input).to_vec(),
            HashAlgorithm::Sha2_512 => Sha512::digest(input).to_vec(),
            HashAlgorithm::None => input.to_vec(),
        }
    }

    /// HMAC of `input` under `key`; `None` has no HMAC.
    pub fn hmac(self, key: &[u8], input: &[u8]) -> Option<Vec<u8>> {
        fn run<M: Mac + hmac::digest::KeyInit>(key: &[u8], input: &[u8]) -> Vec<u8> {
            let mut mac = <M as hmac::digest::KeyInit>::new_from_slice(key)
                .expect("HMAC takes keys of any length");
            mac.update(input);
            mac.finalize().into_bytes().to_vec()
        }
        Some(match self {
            HashAlgorithm::Sha2_224 => run::<Hmac<Sha224>>(key, input),
            HashAlgorithm::Sha2_256 => run::<Hmac<Sha256>>(key, input),
            HashAlgorithm::Sha2_384 => run::<Hmac<Sha384>>(key, input),
            HashAlgorithm::Sha2_512 => run::<Hmac<Sha512>>(key, input),
            HashAlgorithm::None => return None,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_capabilities_match_vault() {
        for t in [
            KeyType::Aes256Gcm96,
            KeyType::ChaCha20Poly1305,
            KeyType::Ed25519,
            KeyType::EcdsaP256,
            KeyType::Rsa2048,
        ] {
            assert_eq!(KeyType::parse(t.as_str()).unwrap(), t);
            let json = serde_json::to_value(t).unwrap();
            assert_eq!(json, t.as_str());
        }
        assert!(KeyType::parse("aes512").is_err());
        assert!(KeyType::Rsa2048.encryption_supported() && KeyType::Rsa2048.signing_supported());
        assert!(!KeyType::Ed25519.encryption_supported());
        assert!(KeyType::Ed25519.derivation_supported());
        assert!(!KeyType::EcdsaP256.derivation_supported());
        assert!(!KeyType::Aes256Gcm96.signing_supported());
    }

    #[test]
    fn hashes_and_hmacs_have_their_lengths() {
        assert_eq!(HashAlgorithm::parse("").unwrap(), HashAlgorithm::Sha2_256);
        assert!(HashAlgorithm::parse("md5").is_none());
        assert_eq!(HashAlgorithm::Sha2_512.digest(b"x").len(), 64);
        assert_eq!(HashAlgorithm::Sha2_224.hmac(b"k", b"x").unwrap().len(), 28);
        assert!(HashAlgorithm::None.hmac(b"k", b"x").is_none());
        assert_eq!(HashAlgorithm::None.digest(b"abc"), b"abc");
    }
}
