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
    #[serde(rename = "aes128-gcm96")]
    Aes128Gcm96,
    #[serde(rename = "aes256-gcm96")]
    Aes256Gcm96,
    #[serde(rename = "chacha20-poly1305")]
    ChaCha20Poly1305,
    #[serde(rename = "ed25519")]
    Ed25519,
    #[serde(rename = "ecdsa-p256")]
    EcdsaP256,
    #[serde(rename = "ecdsa-p384")]
    EcdsaP384,
    #[serde(rename = "ecdsa-p521")]
    EcdsaP521,
    #[serde(rename = "rsa-2048")]
    Rsa2048,
    #[serde(rename = "rsa-3072")]
    Rsa3072,
    #[serde(rename = "rsa-4096")]
    Rsa4096,
    /// A bare HMAC key (`key_size` random bytes): only `hmac/` and `verify/` with `hmac`.
    #[serde(rename = "hmac")]
    Hmac,
}

/// The NIST curves of the ECDSA key types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Curve {
    P256,
    P384,
    P521,
}

/// Every key type, in Vault's documentation order.
pub const ALL: [KeyType; 11] = [
    KeyType::Aes128Gcm96,
    KeyType::Aes256Gcm96,
    KeyType::ChaCha20Poly1305,
    KeyType::Ed25519,
    KeyType::EcdsaP256,
    KeyType::EcdsaP384,
    KeyType::EcdsaP521,
    KeyType::Rsa2048,
    KeyType::Rsa3072,
    KeyType::Rsa4096,
    KeyType::Hmac,
];

/// Vault's bounds on an HMAC key's `key_size`, in bytes.
pub const HMAC_KEY_SIZE_MIN: usize = 32;
pub const HMAC_KEY_SIZE_MAX: usize = 512;

impl KeyType {
    /// Parse the `type` field of a create request.
    pub fn parse(s: &str) -> Result<KeyType, TransitError> {
        ALL.into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| TransitError::User(format!("unknown key type {s}")))
    }

    /// The wire name (`aes256-gcm96`, ...).
    pub fn as_str(self) -> &'static str {
        match self {
            KeyType::Aes128Gcm96 => "aes128-gcm96",
            KeyType::Aes256Gcm96 => "aes256-gcm96",
            KeyType::ChaCha20Poly1305 => "chacha20-poly1305",
            KeyType::Ed25519 => "ed25519",
            KeyType::EcdsaP256 => "ecdsa-p256",
            KeyType::EcdsaP384 => "ecdsa-p384",
            KeyType::EcdsaP521 => "ecdsa-p521",
            KeyType::Rsa2048 => "rsa-2048",
            KeyType::Rsa3072 => "rsa-3072",
            KeyType::Rsa4096 => "rsa-4096",
            KeyType::Hmac => "hmac",
        }
    }

    /// Symmetric AEAD keys (random bytes, a nonce prepended to each ciphertext).
    pub fn is_symmetric(self) -> bool {
        matches!(
            self,
            KeyType::Aes128Gcm96 | KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305
        )
    }

    /// The key length of a symmetric AEAD key, in bytes.
    pub fn symmetric_key_len(self) -> Option<usize> {
        match self {
            KeyType::Aes128Gcm96 => Some(16),
            KeyType::Aes256Gcm96 | KeyType::ChaCha20Poly1305 => Some(32),
            _ => None,
        }
    }

    /// The modulus size of an RSA key type.
    pub fn rsa_bits(self) -> Option<usize> {
        match self {
            KeyType::Rsa2048 => Some(2048),
            KeyType::Rsa3072 => Some(3072),
            KeyType::Rsa4096 => Some(4096),
            _ => None,
        }
    }

    /// The curve of an ECDSA key type.
    pub fn curve(self) -> Option<Curve> {
        match self {
            KeyType::EcdsaP256 => Some(Curve::P256),
            KeyType::EcdsaP384 => Some(Curve::P384),
            KeyType::EcdsaP521 => Some(Curve::P521),
            _ => None,
        }
    }

    /// `supports_encryption` and `supports_decryption`.
    pub fn encryption_supported(self) -> bool {
        self.is_symmetric() || self.rsa_bits().is_some()
    }

    /// `supports_signing`.
    pub fn signing_supported(self) -> bool {
        self == KeyType::Ed25519 || self.hashes_signature_input()
    }

    /// `supports_derivation`: a per-request `context` derives the key actually used.
    pub fn derivation_supported(self) -> bool {
        self.is_symmetric() || self == KeyType::Ed25519
    }

    /// Whether signing hashes the input first (ECDSA and RSA do; Ed25519 hashes internally).
    pub fn hashes_signature_input(self) -> bool {
        self.curve().is_some() || self.rsa_bits().is_some()
    }

    /// The `name` a key read shows for each version of an asymmetric key.
    pub fn public_name(self) -> &'static str {
        match self {
            KeyType::EcdsaP256 => "P-256",
            KeyType::EcdsaP384 => "P-384",
            KeyType::EcdsaP521 => "P-521",
            other => other.as_str(),
        }
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
        for t in ALL {
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
        assert!(
            KeyType::EcdsaP521.signing_supported() && KeyType::EcdsaP384.hashes_signature_input()
        );
        assert!(KeyType::Rsa4096.encryption_supported());
        assert_eq!(KeyType::Aes128Gcm96.symmetric_key_len(), Some(16));
        let hmac = KeyType::Hmac;
        assert!(!hmac.encryption_supported() && !hmac.signing_supported());
        assert!(!hmac.derivation_supported() && !hmac.is_symmetric());
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
