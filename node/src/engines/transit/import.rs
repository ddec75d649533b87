//! Bring-your-own-key import, Vault's format: the client makes an ephemeral AES-256 key, wraps
//! it with RSA-OAEP under the mount's RSA-4096 wrapping key (`hash_function`, SHA-256 by
//! default, for both OAEP hashes, label empty), wraps the key material with AES-KWP (RFC 5649)
//! under the ephemeral key, and sends base64(512-byte OAEP block || KWP output). The material is
//! raw bytes for AES, ChaCha20 and HMAC keys, PKCS#8 DER for Ed25519, ECDSA and RSA keys.

use super::error::TransitError;
use super::keytype::{KeyType, HMAC_KEY_SIZE_MAX, HMAC_KEY_SIZE_MIN};
use super::material::{KeyVersion, Secret};
use coffer_seal::rng::SysRng;
use zeroize::Zeroizing;

/// Bytes of the OAEP block under an RSA-4096 wrapping key.
pub const WRAPPED_KEY_BYTES: usize = 512;

/// The OAEP hash a client chose (`hash_function`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OaepHash {
    Sha1,
    Sha224,
    Sha256,
    Sha384,
    Sha512,
}

impl OaepHash {
    /// Vault's names, any case; empty is SHA256.
    pub fn parse(s: &str) -> Result<OaepHash, TransitError> {
        match s.to_ascii_uppercase().as_str() {
            "" | "SHA256" => Ok(OaepHash::Sha256),
            "SHA1" => Ok(OaepHash::Sha1),
            "SHA224" => Ok(OaepHash::Sha224),
            "SHA384" => Ok(OaepHash::Sha384),
            "SHA512" => Ok(OaepHash::Sha512),
            _ => Err(TransitError::user(format!("unknown hash function: {s}"))),
        }
    }

    fn padding(self) -> rsa::Oaep {
        match self {
            OaepHash::Sha1 => rsa::Oaep::new::<sha1::Sha1>(),
            OaepHash::Sha224 => rsa::Oaep::new::<sha2::Sha224>(),
            OaepHash::Sha256 => rsa::Oaep::new::<sha2::Sha256>(),
            OaepHash::Sha384 => rsa::Oaep::new::<sha2::Sha384>(),
            OaepHash::Sha512 => rsa::Oaep::new::<sha2::Sha512>(),
        }
    }
}

/// The key material inside an import `ciphertext`.
pub fn unwrap(
    wrapping: &rsa::RsaPrivateKey,
    ciphertext: &[u8],
    hash: OaepHash,
) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    if ciphertext.len() <= WRAPPED_KEY_BYTES {
        return Err(TransitError::user("provided ciphertext is too short"));
    }
    let (wrapped_ephemeral, wrapped_key) = ciphertext.split_at(WRAPPED_KEY_BYTES);
    let ephemeral = Zeroizing::new(
        wrapping
            .decrypt_blinded(&mut SysRng, hash.padding(), wrapped_ephemeral)
            .map_err(|e| TransitError::user(format!("error unwrapping the ephemeral key: {e}")))?,
    );
    let ephemeral: &[u8; 32] = ephemeral
        .as_slice()
        .try_into()
        .map_err(|_| TransitError::user("expected ephemeral AES key to be 256-bit"))?;
    let kek = aes_kw::KekAes256::from(*ephemeral);
    kek.unwrap_with_padding_vec(wrapped_key)
        .map(Zeroizing::new)
        .map_err(|e| TransitError::user(format!("error unwrapping the key material: {e}")))
}

/// The PKCS#8 header of an Ed25519 private key; the 32-byte seed follows it (RFC 8410).
const ED25519_PKCS8_PREFIX: [u8; 16] = [
    0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20,
];

/// A key version made of imported material of type `kind`.
pub fn version_from_material(kind: KeyType, material: &[u8]) -> Result<KeyVersion, TransitError> {
    let key = match kind {
        KeyType::Hmac => {
            if !(HMAC_KEY_SIZE_MIN..=HMAC_KEY_SIZE_MAX).contains(&material.len()) {
                return Err(TransitError::user(format!(
                    "invalid key size {} bytes for key type hmac",
                    material.len()
                )));
            }
            Secret::new(material.to_vec())
        }
        k if k.is_symmetric() => {
            if Some(material.len()) != k.symmetric_key_len() {
                return Err(TransitError::user(format!(
                    "invalid key size {} bytes for key type {}",
                    material.len(),
                    k.as_str()
                )));
            }
            Secret::new(material.to_vec())
        }
        KeyType::Ed25519 => match material.strip_prefix(&ED25519_PKCS8_PREFIX[..]) {
            Some(seed) if seed.len() == 32 => Secret::new(seed.to_vec()),
            _ => return Err(TransitError::user("error parsing the Ed25519 PKCS#8 key")),
        },
        k => match (k.curve(), k.rsa_bits()) {
            (Some(curve), _) => super::ecdsa::from_pkcs8(curve, material)?,
            (_, Some(bits)) => rsa_from_pkcs8(material, bits)?,
            _ => return Err(TransitError::user("key type cannot be imported")),
        },
    };
    KeyVersion::with_key(kind, key)
}

fn rsa_from_pkcs8(der: &[u8], bits: usize) -> Result<Secret, TransitError> {
    use rsa::pkcs1::EncodeRsaPrivateKey;
    use rsa::pkcs8::DecodePrivateKey;
    use rsa::traits::PublicKeyParts;
    let key = rsa::RsaPrivateKey::from_pkcs8_der(der)
        .map_err(|e| TransitError::user(format!("error parsing the RSA PKCS#8 key: {e}")))?;
    if key.size() * 8 != bits {
        return Err(TransitError::user(format!(
            "invalid RSA key size: expected {bits} bits, got {}",
            key.size() * 8
        )));
    }
    let der = key
        .to_pkcs1_der()
        .map_err(|e| TransitError::Internal(format!("encoding an RSA key: {e}")))?;
    Ok(Secret::new(der.as_bytes().to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engines::transit::material::ed25519_public;

    /// What a client does: wrap `material` for the given wrapping key.
    fn wrap(public: &rsa::RsaPublicKey, material: &[u8], hash: OaepHash) -> Vec<u8> {
        let ephemeral = [7u8; 32];
        let mut out = public
            .encrypt(&mut SysRng, hash.padding(), &ephemeral)
            .unwrap();
        let kek = aes_kw::KekAes256::from(ephemeral);
        out.extend(kek.wrap_with_padding_vec(material).unwrap());
        out
    }

    #[test]
    fn wrapped_material_unwraps_with_the_same_hash_only() {
        let private = rsa::RsaPrivateKey::new(&mut SysRng, 4096).unwrap();
        let public = private.to_public_key();
        let material = [42u8; 32];
        let ct = wrap(&public, &material, OaepHash::Sha256);
        assert_eq!(
            &*unwrap(&private, &ct, OaepHash::Sha256).unwrap(),
            &material
        );
        assert!(unwrap(&private, &ct, OaepHash::Sha1).is_err());
        let ct = wrap(&public, &material[..20], OaepHash::Sha512);
        assert_eq!(
            &*unwrap(&private, &ct, OaepHash::Sha512).unwrap(),
            &material[..20]
        );
        assert!(unwrap(&private, &ct[..512], OaepHash::Sha512).is_err());
        assert_eq!(OaepHash::parse("sha384").unwrap(), OaepHash::Sha384);
        assert!(OaepHash::parse("md5").is_err());
    }

    #[test]
    fn material_is_checked_against_the_key_type() {
        let v = version_from_material(KeyType::Aes128Gcm96, &[1u8; 16]).unwrap();
        assert_eq!(v.key.bytes(), &[1u8; 16]);
        assert!(version_from_material(KeyType::Aes256Gcm96, &[1u8; 16]).is_err());
        assert!(version_from_material(KeyType::Hmac, &[1u8; 16]).is_err());
        let h = version_from_material(KeyType::Hmac, &[3u8; 48]).unwrap();
        assert_eq!(h.hmac_key.bytes(), &[3u8; 48]);
        let mut ed = ED25519_PKCS8_PREFIX.to_vec();
        ed.extend([9u8; 32]);
        let v = version_from_material(KeyType::Ed25519, &ed).unwrap();
        assert_eq!(v.key.bytes(), &[9u8; 32]);
        assert_eq!(
            v.public_key,
            base64::Engine::encode(
                &base64::engine::general_purpose::STANDARD,
                ed25519_public(&[9u8; 32]).unwrap()
            )
        );
        assert!(version_from_material(KeyType::EcdsaP256, &ed).is_err());
    }
}
