//! One version of a transit key: its secret bytes, its HMAC key, its public half, and how each
//! type makes, shows and exports them. Secret bytes live in `Secret` (`secret.rs`) and reach
//! storage only inside the mount's `StorageView`, i.e. through the barrier.
//!
//! What `key` holds per type: AES-GCM and ChaCha20-Poly1305 the 16- or 32-byte key; Ed25519 the
//! 32-byte seed; ECDSA the secret scalar (`ecdsa.rs`); RSA the PKCS#1 DER private key; HMAC
//! keys their `key_size` bytes, which are also the version's `hmac_key`.

use super::error::TransitError;
use super::keytype::KeyType;
pub use super::secret::Secret;
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use coffer_seal::rng::SysRng;
use hkdf::Hkdf;
use serde::{Deserialize, Serialize};
use sha2::Sha256;
use zeroize::Zeroizing;

/// One version of a key.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct KeyVersion {
    /// Unix seconds at creation (what Vault shows for symmetric keys).
    pub creation_time: i64,
    /// The same instant in RFC 3339 (what Vault shows for asymmetric keys).
    pub created: String,
    /// The secret key bytes (see the module doc for the layout per type).
    pub key: Secret,
    /// The key of `hmac/` for this version: 32 random bytes, independent of `key`.
    pub hmac_key: Secret,
    /// The public key as Vault formats it (Ed25519 base64, ECDSA/RSA PEM); empty for symmetric.
    #[serde(default)]
    pub public_key: String,
}

fn internal(what: &str, e: impl std::fmt::Display) -> TransitError {
    TransitError::Internal(format!("{what}: {e}"))
}

impl KeyVersion {
    /// A fresh version of a key of type `kind`, created now (`hmac_key_size`: the bytes of an
    /// HMAC-type key; other types ignore it).
    pub fn generate(kind: KeyType, hmac_key_size: usize) -> Result<KeyVersion, TransitError> {
        let key = match kind {
            KeyType::Hmac => Secret::random(hmac_key_size),
            _ if kind.is_symmetric() => Secret::random(kind.symmetric_key_len().unwrap_or(32)),
            KeyType::Ed25519 => Secret::random(32),
            _ => match (kind.curve(), kind.rsa_bits()) {
                (Some(curve), _) => super::ecdsa::generate(curve),
                (_, Some(bits)) => {
                    use rsa::pkcs1::EncodeRsaPrivateKey;
                    let private = rsa::RsaPrivateKey::new(&mut SysRng, bits)
                        .map_err(|e| internal("generating an RSA key", e))?;
                    let der = private
                        .to_pkcs1_der()
                        .map_err(|e| internal("encoding an RSA key", e))?;
                    Secret::new(der.as_bytes().to_vec())
                }
                _ => return Err(TransitError::Internal("no generator for key type".into())),
            },
        };
        KeyVersion::with_key(kind, key)
    }

    /// A version created now around given key bytes (generated or imported): the public half
    /// is derived from them, and an HMAC-type key is its own HMAC key.
    pub fn with_key(kind: KeyType, key: Secret) -> Result<KeyVersion, TransitError> {
        let public_key = match kind {
            KeyType::Ed25519 => STANDARD.encode(ed25519_public(key.bytes())?),
            _ => match (kind.curve(), kind.rsa_bits()) {
                (Some(curve), _) => super::ecdsa::public_pem(curve, key.bytes())?,
                (_, Some(_)) => rsa_public_pem(&rsa_key(&key)?)?,
                _ => String::new(),
            },
        };
        let hmac_key = match kind {
            KeyType::Hmac => key.clone(),
            _ => Secret::random(32),
        };
        let now = crate::clock::now();
        Ok(KeyVersion {
            creation_time: crate::clock::unix_now(),
            created: crate::clock::rfc3339(now),
            key,
            hmac_key,
            public_key,
        })
    }

    /// The RSA private key of this version.
    pub fn rsa(&self) -> Result<rsa::RsaPrivateKey, TransitError> {
        rsa_key(&self.key)
    }
}

fn rsa_key(key: &Secret) -> Result<rsa::RsaPrivateKey, TransitError> {
    use rsa::pkcs1::DecodeRsaPrivateKey;
    rsa::RsaPrivateKey::from_pkcs1_der(key.bytes())
        .map_err(|e| internal("stored RSA key is unreadable", e))
}

/// HKDF-SHA256 of `key` with `context` as the info: the per-context key of a derived key.
pub fn derive(key: &[u8], context: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    let mut out = Zeroizing::new(vec![0u8; len]);
    Hkdf::<Sha256>::new(None, key)
        .expand(context, &mut out)
        .map_err(|e| internal("deriving a key", e))?;
    Ok(out)
}

/// The Ed25519 public key of a 32-byte seed.
pub fn ed25519_public(seed: &[u8]) -> Result<[u8; 32], TransitError> {
    Ok(ed25519_signing(seed)?.verifying_key().to_bytes())
}

/// The Ed25519 signing key of a 32-byte seed.
pub fn ed25519_signing(seed: &[u8]) -> Result<ed25519_dalek::SigningKey, TransitError> {
    let seed: &[u8; 32] = seed
        .try_into()
        .map_err(|_| TransitError::Internal("an Ed25519 seed is 32 bytes".into()))?;
    Ok(ed25519_dalek::SigningKey::from_bytes(seed))
}

fn rsa_public_pem(private: &rsa::RsaPrivateKey) -> Result<String, TransitError> {
    use rsa::pkcs8::{EncodePublicKey, LineEnding};
    private
        .to_public_key()
        .to_public_key_pem(LineEnding::LF)
        .map_err(|e| internal("encoding an RSA public key", e))
}

/// What `export/<type>/...` may hand out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExportType {
    Encryption,
    Signing,
    Hmac,
    Public,
}

impl ExportType {
    /// From the path segment.
    pub fn parse(s: &str) -> Option<ExportType> {
        match s {
            "encryption-key" => Some(ExportType::Encryption),
            "signing-key" => Some(ExportType::Signing),
            "hmac-key" => Some(ExportType::Hmac),
            "public-key" => Some(ExportType::Public),
            _ => None,
        }
    }
}

/// One version's key in Vault's export format: symmetric keys, HMAC keys and Ed25519 private
/// keys (seed | public, as Go holds them) in base64; ECDSA as an `EC PRIVATE KEY` PEM, RSA as an
/// `RSA PRIVATE KEY` PEM; public keys as `read` shows them.
pub fn export(
    kind: KeyType,
    version: &KeyVersion,
    what: ExportType,
) -> Result<Zeroizing<String>, TransitError> {
    if let (ExportType::Signing, Some(curve)) = (what, kind.curve()) {
        return super::ecdsa::private_pem(curve, version.key.bytes());
    }
    let out = match (what, kind) {
        (ExportType::Hmac, _) => STANDARD.encode(version.hmac_key.bytes()),
        (ExportType::Public, _) => version.public_key.clone(),
        (ExportType::Encryption, k) if k.is_symmetric() => STANDARD.encode(version.key.bytes()),
        (ExportType::Encryption | ExportType::Signing, k) if k.rsa_bits().is_some() => {
            use rsa::pkcs1::{EncodeRsaPrivateKey, LineEnding};
            let pem = version
                .rsa()?
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| internal("encoding an RSA key", e))?;
            pem.as_str().to_string()
        }
        (ExportType::Signing, KeyType::Ed25519) => {
            let mut full = Zeroizing::new(version.key.bytes().to_vec());
            full.extend_from_slice(&ed25519_public(version.key.bytes())?);
            STANDARD.encode(&*full)
        }
        (ExportType::Encryption, _) => {
            return Err(TransitError::user("encryption not supported for the key"))
        }
        (ExportType::Signing, _) => {
            return Err(TransitError::user("signing not supported for the key"))
        }
    };
    Ok(Zeroizing::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_type_generates_its_material() {
        let aes = KeyVersion::generate(KeyType::Aes256Gcm96, 32).unwrap();
        assert_eq!(aes.key.bytes().len(), 32);
        assert!(aes.public_key.is_empty());
        assert_ne!(aes.key, aes.hmac_key);
        let ed = KeyVersion::generate(KeyType::Ed25519, 32).unwrap();
        assert_eq!(STANDARD.decode(&ed.public_key).unwrap().len(), 32);
        let ec = KeyVersion::generate(KeyType::EcdsaP256, 32).unwrap();
        assert!(ec.public_key.starts_with("-----BEGIN PUBLIC KEY-----"));
        let p521 = KeyVersion::generate(KeyType::EcdsaP521, 32).unwrap();
        assert_eq!(p521.key.bytes().len(), 66);
        let aes128 = KeyVersion::generate(KeyType::Aes128Gcm96, 32).unwrap();
        assert_eq!(aes128.key.bytes().len(), 16);
        let hmac = KeyVersion::generate(KeyType::Hmac, 64).unwrap();
        assert_eq!(hmac.key.bytes().len(), 64);
        assert_eq!(hmac.key, hmac.hmac_key, "an HMAC key is its own HMAC key");
        let debug = format!("{ec:?}");
        assert!(!debug.contains(&STANDARD.encode(ec.key.bytes())));
    }

    #[test]
    fn exports_follow_vaults_formats() {
        let ed = KeyVersion::generate(KeyType::Ed25519, 32).unwrap();
        let signing = export(KeyType::Ed25519, &ed, ExportType::Signing).unwrap();
        let raw = STANDARD.decode(signing.as_str()).unwrap();
        assert_eq!(raw.len(), 64);
        assert_eq!(&raw[..32], ed.key.bytes());
        assert_eq!(STANDARD.encode(&raw[32..]), ed.public_key);
        assert!(export(KeyType::Ed25519, &ed, ExportType::Encryption).is_err());
        let ec = KeyVersion::generate(KeyType::EcdsaP256, 32).unwrap();
        let pem = export(KeyType::EcdsaP256, &ec, ExportType::Signing).unwrap();
        assert!(pem.starts_with("-----BEGIN EC PRIVATE KEY-----"));
        // It reads back as the same key, curve named.
        let back = p256::SecretKey::from_sec1_pem(&pem).unwrap();
        assert_eq!(back.to_bytes().as_slice(), ec.key.bytes());
        let aes = KeyVersion::generate(KeyType::ChaCha20Poly1305, 32).unwrap();
        let hmac = export(KeyType::ChaCha20Poly1305, &aes, ExportType::Hmac).unwrap();
        assert_eq!(
            STANDARD.decode(hmac.as_str()).unwrap(),
            aes.hmac_key.bytes()
        );
        assert!(export(KeyType::ChaCha20Poly1305, &aes, ExportType::Signing).is_err());
    }

    #[test]
    fn derivation_depends_on_context_and_is_stable() {
        let a = derive(b"k", b"ctx-a", 32).unwrap();
        assert_eq!(a, derive(b"k", b"ctx-a", 32).unwrap());
        assert_ne!(a, derive(b"k", b"ctx-b", 32).unwrap());
        // A longer output starts with the shorter one (convergent keys rely on it).
        assert_eq!(&derive(b"k", b"ctx-a", 64).unwrap()[..32], &a[..]);
    }
}
