//! The `Seal` trait: what wraps and unwraps the root key.
//!
//! Shamir ([`ShamirSeal`]) wraps it with a KEK rebuilt from unseal key
//! shares; auto-unseal seals (awskms, pkcs11, the simulated KMS) wrap it
//! with a key that never leaves their service. Every implementation must
//! pass [`seal_conformance_suite`].

use std::fmt;

use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Key, Nonce};
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::rng::{self, KEY_LEN};

/// Wraps and unwraps the root key.
#[async_trait::async_trait]
pub trait Seal: Send + Sync {
    /// Vault's seal type name: "shamir", "awskms", "pkcs11".
    fn seal_type(&self) -> &'static str;

    /// Whether init hands out recovery keys (auto-unseal) rather than
    /// unseal keys.
    fn is_recovery(&self) -> bool;

    /// Encrypts `plaintext` (the root key); the result is stored as is.
    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError>;

    /// Decrypts what [`Seal::wrap`] produced. A wrong key or tampered input
    /// is [`SealError::InvalidKey`] (or [`SealError::Malformed`]).
    async fn unwrap(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError>;
}

/// Format version of a [`ShamirSeal`] blob.
const VERSION: u8 = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// AAD binding a blob to its purpose: a blob of another kind, under the same
/// key, does not open as a root key.
const AAD: &[u8] = b"coffer/root-key";

/// The Shamir seal: AES-256-GCM under the KEK combined from unseal key
/// shares. Blob format: `version(1) | nonce(12) | ciphertext+tag(16)`.
pub struct ShamirSeal {
    kek: Zeroizing<[u8; KEY_LEN]>,
}

impl ShamirSeal {
    /// A seal over `kek`, which must be 32 bytes (else
    /// [`SealError::InvalidKey`]).
    pub fn new(kek: &[u8]) -> Result<Self, SealError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        if kek.len() != KEY_LEN {
            return Err(SealError::InvalidKey);
        }
        key.copy_from_slice(kek);
        Ok(Self { kek: key })
    }

    fn cipher(&self) -> Aes256Gcm {
        Aes256Gcm::new(Key::<Aes256Gcm>::from_slice(self.kek.as_slice()))
    }
}

impl fmt::Debug for ShamirSeal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ShamirSeal")
            .field("kek", &"<redacted>")
            .finish()
    }
}

#[async_trait::async_trait]
impl Seal for ShamirSeal {
    fn seal_type(&self) -> &'static str {
        "shamir"
    }

    fn is_recovery(&self) -> bool {
        false
    }

    async fn wrap(&self, plaintext: &[u8]) -> Result<Vec<u8>, SealError> {
        let mut nonce = [0u8; NONCE_LEN];
        rng::fill(&mut nonce);
        let ct = self
            .cipher()
            .encrypt(
                Nonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: AAD,
                },
            )
            .map_err(|_| SealError::Crypto)?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + ct.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&ct);
        debug_assert_eq!(out.len(), 1 + NONCE_LEN + plaintext.len() + TAG_LEN);
        Ok(out)
    }

    async fn unwrap(&self, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, SealError> {
        if ciphertext.len() < 1 + NONCE_LEN + TAG_LEN || ciphertext[0] != VERSION {
            return Err(SealError::Malformed);
        }
        let (nonce, ct) = ciphertext[1..].split_at(NONCE_LEN);
        let pt = self
            .cipher()
            .decrypt(Nonce::from_slice(nonce), Payload { msg: ct, aad: AAD })
            .map_err(|_| SealError::InvalidKey)?;
        let pt = Zeroizing::new(pt);
        debug_assert_eq!(pt.len() + TAG_LEN, ct.len());
        Ok(pt)
    }
}

/// The properties every [`Seal`] must have; each implementation's tests run
/// it. Panics (with the property's name) on the first failure.
///
/// - wrap/unwrap round-trips a 32-byte key, an empty and a larger input;
/// - the wrapped bytes do not contain the plaintext;
/// - two wraps of the same plaintext differ (fresh nonce each time);
/// - any flipped bit, truncation or extension is rejected, never panics;
/// - garbage and empty input are rejected.
pub async fn seal_conformance_suite(seal: &dyn Seal) {
    assert!(!seal.seal_type().is_empty(), "seal_type must name the seal");

    let key = rng::random_key();
    let mut big = vec![0u8; 4096];
    rng::fill(&mut big);
    for (what, pt) in [
        ("32-byte key", key.as_slice()),
        ("empty", &[][..]),
        ("4 KiB", big.as_slice()),
    ] {
        let wrapped = seal.wrap(pt).await.expect("wrap must succeed");
        let back = seal.unwrap(&wrapped).await.expect("unwrap must succeed");
        assert_eq!(back.as_slice(), pt, "roundtrip of {what}");
    }

    let wrapped = seal.wrap(key.as_slice()).await.expect("wrap must succeed");
    assert!(
        !wrapped.windows(key.len()).any(|w| w == key.as_slice()),
        "wrapped bytes must not contain the plaintext"
    );
    let again = seal.wrap(key.as_slice()).await.expect("wrap must succeed");
    assert_ne!(
        wrapped, again,
        "two wraps of the same plaintext must differ"
    );

    for i in 0..wrapped.len() {
        let mut bad = wrapped.clone();
        bad[i] ^= 0x01;
        assert!(
            seal.unwrap(&bad).await.is_err(),
            "a flipped bit at byte {i} must be rejected"
        );
    }
    for len in [0, 1, wrapped.len() / 2, wrapped.len() - 1] {
        assert!(
            seal.unwrap(&wrapped[..len]).await.is_err(),
            "truncation to {len} bytes must be rejected"
        );
    }
    let mut longer = wrapped.clone();
    longer.push(0);
    assert!(
        seal.unwrap(&longer).await.is_err(),
        "extension must be rejected"
    );
    assert!(
        seal.unwrap(&[0x5a; 64]).await.is_err(),
        "garbage must be rejected"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    fn seal() -> ShamirSeal {
        ShamirSeal::new(rng::random_key().as_slice()).unwrap()
    }

    #[tokio::test]
    async fn shamir_seal_passes_the_conformance_suite() {
        let s = seal();
        assert_eq!(s.seal_type(), "shamir");
        assert!(!s.is_recovery());
        seal_conformance_suite(&s).await;
    }

    #[tokio::test]
    async fn wrong_kek_is_invalid_key() {
        let wrapped = seal().wrap(b"root key").await.unwrap();
        assert_eq!(seal().unwrap(&wrapped).await, Err(SealError::InvalidKey));
    }

    #[tokio::test]
    async fn format_is_version_nonce_ciphertext() {
        let wrapped = seal().wrap(&[1; 32]).await.unwrap();
        assert_eq!(wrapped[0], 1);
        assert_eq!(wrapped.len(), 1 + 12 + 32 + 16);
    }

    #[test]
    fn kek_must_be_32_bytes_and_is_redacted() {
        assert_eq!(
            ShamirSeal::new(&[1; 31]).unwrap_err(),
            SealError::InvalidKey
        );
        let s = ShamirSeal::new(&[0xAB; 32]).unwrap();
        let dbg = format!("{s:?}");
        assert!(dbg.contains("redacted") && !dbg.contains("171"), "{dbg}");
    }
}
