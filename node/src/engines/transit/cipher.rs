//! Encryption and decryption with one key version: AES-GCM and ChaCha20-Poly1305 with a
//! random 96-bit nonce prepended to the sealed bytes (as Vault lays them out), or a nonce derived
//! from the plaintext for convergent keys; RSA-OAEP with SHA-256 for RSA keys (any size).

use super::error::TransitError;
use super::keytype::KeyType;
use super::material::{derive, KeyVersion};
use aes_gcm::aead::{Aead, KeyInit};
use coffer_seal::rng::SysRng;
use zeroize::Zeroizing;

/// Nonce length of both AEADs (96 bits).
pub const NONCE_LEN: usize = 12;

/// How the key of a version is turned into the key actually used.
#[derive(Debug, Clone, Copy)]
pub struct Derivation<'a> {
    /// The key is derived: `context` is required and selects the key.
    pub derived: bool,
    /// Convergent encryption: the nonce is a function of (derived key, plaintext).
    pub convergent: bool,
    /// The request's context (decoded), if any.
    pub context: Option<&'a [u8]>,
}

#[cfg(test)]
impl Derivation<'_> {
    /// No derivation: the version's own key.
    pub const NONE: Derivation<'static> = Derivation {
        derived: false,
        convergent: false,
        context: None,
    };
}

/// The message Vault gives when a derived key is used without a context.
pub const MISSING_CONTEXT: &str = "missing 'context' for key derivation; the key was created using a derived key, which means additional, per-request information must be included in order to perform operations with the key";

/// Key bytes for one request, zeroized on drop.
type Key = Zeroizing<Vec<u8>>;

/// The symmetric key (and, for convergent keys, the 32-byte nonce key) for one request; a
/// derived key is as long as the type's own key.
fn symmetric_keys(
    kind: KeyType,
    version: &KeyVersion,
    how: Derivation<'_>,
) -> Result<(Key, Option<Key>), TransitError> {
    let len = kind.symmetric_key_len().unwrap_or(32);
    if !how.derived {
        return Ok((Zeroizing::new(version.key.bytes().to_vec()), None));
    }
    let context = how
        .context
        .filter(|c| !c.is_empty())
        .ok_or_else(|| TransitError::user(MISSING_CONTEXT))?;
    if !how.convergent {
        return Ok((derive(version.key.bytes(), context, len)?, None));
    }
    let both = derive(version.key.bytes(), context, len + 32)?;
    Ok((
        Zeroizing::new(both[..len].to_vec()),
        Some(Zeroizing::new(both[len..].to_vec())),
    ))
}

fn seal(
    kind: KeyType,
    key: &[u8],
    nonce: &[u8],
    plaintext: &[u8],
) -> Result<Vec<u8>, TransitError> {
    let failed = |_| TransitError::Internal("encryption failed".into());
    match kind {
        KeyType::Aes128Gcm96 => aes_gcm::Aes128Gcm::new_from_slice(key)
            .map_err(|_| TransitError::Internal("bad AES key length".into()))?
            .encrypt(nonce.into(), plaintext)
            .map_err(failed),
        KeyType::Aes256Gcm96 => aes_gcm::Aes256Gcm::new_from_slice(key)
            .map_err(|_| TransitError::Internal("bad AES key length".into()))?
            .encrypt(nonce.into(), plaintext)
            .map_err(failed),
        KeyType::ChaCha20Poly1305 => chacha20poly1305::ChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| TransitError::Internal("bad ChaCha20 key length".into()))?
            .encrypt(nonce.into(), plaintext)
            .map_err(failed),
        _ => Err(TransitError::Internal("not a symmetric key".into())),
    }
}

fn open(kind: KeyType, key: &[u8], nonce: &[u8], sealed: &[u8]) -> Result<Vec<u8>, TransitError> {
    // Go's `cipher: message authentication failed`, which Vault passes on as a 400.
    let failed = |_| TransitError::user("cipher: message authentication failed");
    match kind {
        KeyType::Aes128Gcm96 => aes_gcm::Aes128Gcm::new_from_slice(key)
            .map_err(|_| TransitError::Internal("bad AES key length".into()))?
            .decrypt(nonce.into(), sealed)
            .map_err(failed),
        KeyType::Aes256Gcm96 => aes_gcm::Aes256Gcm::new_from_slice(key)
            .map_err(|_| TransitError::Internal("bad AES key length".into()))?
            .decrypt(nonce.into(), sealed)
            .map_err(failed),
        KeyType::ChaCha20Poly1305 => chacha20poly1305::ChaCha20Poly1305::new_from_slice(key)
            .map_err(|_| TransitError::Internal("bad ChaCha20 key length".into()))?
            .decrypt(nonce.into(), sealed)
            .map_err(failed),
        _ => Err(TransitError::Internal("not a symmetric key".into())),
    }
}

/// Encrypt `plaintext` with one version of a key of type `kind`: the raw bytes that go after
/// `vault:v<N>:` in base64.
pub fn encrypt(
    kind: KeyType,
    version: &KeyVersion,
    how: Derivation<'_>,
    plaintext: &[u8],
) -> Result<Vec<u8>, TransitError> {
    match kind {
        k if k.is_symmetric() => {
            let (key, nonce_key) = symmetric_keys(kind, version, how)?;
            let nonce = match nonce_key {
                Some(nk) => {
                    let mac = super::keytype::HashAlgorithm::Sha2_256
                        .hmac(&nk, plaintext)
                        .ok_or_else(|| TransitError::Internal("no HMAC".into()))?;
                    mac[..NONCE_LEN].to_vec()
                }
                None => crate::ids::random_bytes(NONCE_LEN),
            };
            let sealed = seal(kind, &key, &nonce, plaintext)?;
            let mut out = nonce;
            out.extend_from_slice(&sealed);
            Ok(out)
        }
        k if k.rsa_bits().is_some() => {
            let public = version.rsa()?.to_public_key();
            public
                .encrypt(&mut SysRng, rsa::Oaep::new::<sha2::Sha256>(), plaintext)
                .map_err(|e| {
                    TransitError::user(format!("failed to RSA encrypt the plaintext: {e}"))
                })
        }
        other => Err(TransitError::user(format!(
            "message encryption not supported for key type {}",
            other.as_str()
        ))),
    }
}

/// Decrypt the raw bytes of a ciphertext made by `encrypt` with the same version.
pub fn decrypt(
    kind: KeyType,
    version: &KeyVersion,
    how: Derivation<'_>,
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, TransitError> {
    match kind {
        k if k.is_symmetric() => {
            let (key, _) = symmetric_keys(kind, version, how)?;
            if ciphertext.len() < NONCE_LEN {
                return Err(TransitError::user("invalid ciphertext length"));
            }
            let (nonce, sealed) = ciphertext.split_at(NONCE_LEN);
            open(kind, &key, nonce, sealed).map(Zeroizing::new)
        }
        k if k.rsa_bits().is_some() => version
            .rsa()?
            .decrypt_blinded(&mut SysRng, rsa::Oaep::new::<sha2::Sha256>(), ciphertext)
            .map(Zeroizing::new)
            .map_err(|e| TransitError::user(format!("failed to RSA decrypt the ciphertext: {e}"))),
        other => Err(TransitError::user(format!(
            "message decryption not supported for key type {}",
            other.as_str()
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip(kind: KeyType) {
        let v = KeyVersion::generate(kind, 32).unwrap();
        let ct = encrypt(kind, &v, Derivation::NONE, b"attack at dawn").unwrap();
        assert_eq!(
            &*decrypt(kind, &v, Derivation::NONE, &ct).unwrap(),
            b"attack at dawn"
        );
        // Fresh randomness each time: the same plaintext never encrypts the same way twice.
        assert_ne!(
            ct,
            encrypt(kind, &v, Derivation::NONE, b"attack at dawn").unwrap()
        );
        let mut tampered = ct.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(matches!(
            decrypt(kind, &v, Derivation::NONE, &tampered),
            Err(TransitError::User(_))
        ));
        let other = KeyVersion::generate(kind, 32).unwrap();
        assert!(decrypt(kind, &other, Derivation::NONE, &ct).is_err());
    }

    #[test]
    fn aes_gcm_round_trips_and_prepends_the_nonce() {
        round_trip(KeyType::Aes256Gcm96);
        let v = KeyVersion::generate(KeyType::Aes256Gcm96, 32).unwrap();
        let ct = encrypt(KeyType::Aes256Gcm96, &v, Derivation::NONE, b"abc").unwrap();
        // nonce (12) + ciphertext (3) + tag (16)
        assert_eq!(ct.len(), 12 + 3 + 16);
        let manual = aes_gcm::Aes256Gcm::new_from_slice(v.key.bytes())
            .unwrap()
            .decrypt(ct[..12].into(), &ct[12..])
            .unwrap();
        assert_eq!(manual, b"abc");
    }

    #[test]
    fn aes128_round_trips_with_a_16_byte_key() {
        round_trip(KeyType::Aes128Gcm96);
    }

    #[test]
    fn hmac_keys_refuse_encryption() {
        let v = KeyVersion::generate(KeyType::Hmac, 32).unwrap();
        let e = encrypt(KeyType::Hmac, &v, Derivation::NONE, b"x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "message encryption not supported for key type hmac"
        );
    }

    #[test]
    fn chacha_round_trips() {
        round_trip(KeyType::ChaCha20Poly1305);
    }

    #[test]
    fn rsa_round_trips() {
        round_trip(KeyType::Rsa2048);
    }

    #[test]
    fn signing_only_types_refuse_encryption() {
        let v = KeyVersion::generate(KeyType::Ed25519, 32).unwrap();
        let e = encrypt(KeyType::Ed25519, &v, Derivation::NONE, b"x").unwrap_err();
        assert_eq!(
            e.to_string(),
            "message encryption not supported for key type ed25519"
        );
    }

    #[test]
    fn derived_keys_need_the_same_context() {
        let kind = KeyType::Aes256Gcm96;
        let v = KeyVersion::generate(kind, 32).unwrap();
        let with = |c: &'static [u8]| Derivation {
            derived: true,
            convergent: false,
            context: Some(c),
        };
        let ct = encrypt(kind, &v, with(b"tenant-1"), b"secret").unwrap();
        assert_eq!(
            &*decrypt(kind, &v, with(b"tenant-1"), &ct).unwrap(),
            b"secret"
        );
        assert!(decrypt(kind, &v, with(b"tenant-2"), &ct).is_err());
        assert!(decrypt(kind, &v, Derivation::NONE, &ct).is_err());
        let missing = Derivation {
            derived: true,
            convergent: false,
            context: None,
        };
        assert_eq!(
            encrypt(kind, &v, missing, b"x").unwrap_err().to_string(),
            MISSING_CONTEXT
        );
    }

    #[test]
    fn convergent_keys_encrypt_equal_plaintexts_equally() {
        let kind = KeyType::ChaCha20Poly1305;
        let v = KeyVersion::generate(kind, 32).unwrap();
        let how = Derivation {
            derived: true,
            convergent: true,
            context: Some(b"ctx"),
        };
        let a = encrypt(kind, &v, how, b"same").unwrap();
        assert_eq!(a, encrypt(kind, &v, how, b"same").unwrap());
        assert_ne!(a, encrypt(kind, &v, how, b"other").unwrap());
        assert_eq!(&*decrypt(kind, &v, how, &a).unwrap(), b"same");
    }
}
