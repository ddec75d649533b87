//! The stored value format and AES-256-GCM, written down once.
//!
//! Every value the barrier stores, and the keyring itself, is
//!
//! ```text
//! term (4 bytes, big-endian) | version (1 byte, 0x1) | nonce (12 bytes) | ciphertext | tag (16 bytes)
//! ```
//!
//! encrypted with AES-256-GCM under the key of `term`, with the *full storage path* as
//! additional authenticated data. Binding the path means a value copied or moved to another path
//! fails to open, just as a tampered or truncated one does: the caller gets an error, never data.
//! Term 0 is the root key, used only for `core/keyring`; data terms start at 1.
//! The nonce is 96 random bits from [`crate::random`], fresh for every write.

use aes_gcm::aead::AeadInPlace;
use aes_gcm::{Aes256Gcm, KeyInit, Nonce, Tag};

use crate::error::BarrierError;
use crate::random;

/// Length of every key: AES-256.
pub(crate) const KEY_LEN: usize = 32;
const TERM_LEN: usize = 4;
const VERSION_LEN: usize = 1;
const NONCE_LEN: usize = 12;
const TAG_LEN: usize = 16;
/// `term | version | nonce`.
pub(crate) const HEADER_LEN: usize = TERM_LEN + VERSION_LEN + NONCE_LEN;
/// Bytes a stored value has beyond its plaintext.
pub(crate) const OVERHEAD: usize = HEADER_LEN + TAG_LEN;
/// The only version written: AES-256-GCM with a 96-bit random nonce.
pub(crate) const VERSION_AES_GCM: u8 = 0x1;

/// Why stored bytes could not be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum DecryptError {
    /// Shorter than header plus tag.
    #[error("value is {len} bytes, shorter than the {OVERHEAD}-byte minimum")]
    Truncated {
        /// The length found.
        len: usize,
    },
    /// The version byte is not one this build knows.
    #[error("unsupported value version {0:#04x}")]
    UnsupportedVersion(u8),
    /// The tag did not verify: tampered, truncated, or read under another path.
    #[error("authentication failed (tampered, or stored under another path)")]
    Authentication,
}

/// The term named in a stored value's header, after checking its length and version.
pub(crate) fn term_of(stored: &[u8]) -> Result<u32, DecryptError> {
    if stored.len() < OVERHEAD {
        return Err(DecryptError::Truncated { len: stored.len() });
    }
    let version = stored[TERM_LEN];
    if version != VERSION_AES_GCM {
        return Err(DecryptError::UnsupportedVersion(version));
    }
    let mut term = [0u8; TERM_LEN];
    term.copy_from_slice(&stored[..TERM_LEN]);
    Ok(u32::from_be_bytes(term))
}

use crate::mutant::mutant;

/// Encrypt `plaintext` for `path` under `key`, labelled with `term`.
pub(crate) fn seal(
    key: &[u8; KEY_LEN],
    term: u32,
    path: &str,
    plaintext: &[u8],
) -> Result<Vec<u8>, BarrierError> {
    let mut nonce = [0u8; NONCE_LEN];
    random::fill(&mut nonce)?;
    let mut out = Vec::with_capacity(OVERHEAD + plaintext.len());
    out.extend_from_slice(&term.to_be_bytes());
    out.push(VERSION_AES_GCM);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(plaintext);
    if mutant("barrier_plaintext") {
        out.extend_from_slice(&[0; TAG_LEN]);
        return Ok(out);
    }
    let tag = Aes256Gcm::new(key.into())
        .encrypt_in_place_detached(
            Nonce::from_slice(&nonce),
            path.as_bytes(),
            &mut out[HEADER_LEN..],
        )
        .map_err(|_| BarrierError::Encrypt(path.to_string()))?;
    out.extend_from_slice(&tag);
    assert_eq!(
        out.len(),
        HEADER_LEN + plaintext.len() + TAG_LEN,
        "sealed value must be header + plaintext + tag"
    );
    Ok(out)
}

/// Decrypt a value read at `path` with the key of `term`. The header must name `term`.
pub(crate) fn open(
    key: &[u8; KEY_LEN],
    term: u32,
    path: &str,
    stored: &[u8],
) -> Result<Vec<u8>, DecryptError> {
    let header_term = term_of(stored)?;
    assert_eq!(
        header_term, term,
        "open: the key of term {term} offered for a value of term {header_term}"
    );
    let nonce = Nonce::from_slice(&stored[TERM_LEN + VERSION_LEN..HEADER_LEN]);
    let (body, tag) = stored[HEADER_LEN..].split_at(stored.len() - OVERHEAD);
    let mut plaintext = body.to_vec();
    if mutant("barrier_plaintext") {
        return Ok(plaintext);
    }
    Aes256Gcm::new(key.into())
        .decrypt_in_place_detached(nonce, path.as_bytes(), &mut plaintext, Tag::from_slice(tag))
        .map_err(|_| DecryptError::Authentication)?;
    assert_eq!(
        plaintext.len() + OVERHEAD,
        stored.len(),
        "opened value must be stored length minus header and tag"
    );
    Ok(plaintext)
}

#[cfg(test)]
mod tests {
    use super::*;

    const KEY: [u8; KEY_LEN] = [7; KEY_LEN];

    #[test]
    fn roundtrip_and_layout() {
        let stored = seal(&KEY, 0x0102_0304, "a/b", b"secret").unwrap();
        assert_eq!(stored.len(), OVERHEAD + 6);
        assert_eq!(&stored[..5], &[1, 2, 3, 4, VERSION_AES_GCM]);
        assert_eq!(term_of(&stored), Ok(0x0102_0304));
        assert_eq!(open(&KEY, 0x0102_0304, "a/b", &stored).unwrap(), b"secret");
    }

    #[test]
    fn empty_plaintext_roundtrips() {
        let stored = seal(&KEY, 1, "p", b"").unwrap();
        assert_eq!(stored.len(), OVERHEAD);
        assert_eq!(open(&KEY, 1, "p", &stored).unwrap(), b"");
    }

    #[test]
    fn nonces_differ_between_writes() {
        let a = seal(&KEY, 1, "p", b"same").unwrap();
        let b = seal(&KEY, 1, "p", b"same").unwrap();
        assert_ne!(
            a[HEADER_LEN - NONCE_LEN..HEADER_LEN],
            b[HEADER_LEN - NONCE_LEN..HEADER_LEN]
        );
    }

    #[test]
    fn other_path_or_key_fails_authentication() {
        let stored = seal(&KEY, 1, "a", b"x").unwrap();
        assert_eq!(
            open(&KEY, 1, "b", &stored),
            Err(DecryptError::Authentication)
        );
        assert_eq!(
            open(&[8; KEY_LEN], 1, "a", &stored),
            Err(DecryptError::Authentication)
        );
    }

    #[test]
    fn short_and_unknown_version_rejected() {
        let mut stored = seal(&KEY, 1, "a", b"x").unwrap();
        assert_eq!(
            term_of(&stored[..OVERHEAD - 1]),
            Err(DecryptError::Truncated { len: OVERHEAD - 1 })
        );
        stored[TERM_LEN] = 2;
        assert_eq!(term_of(&stored), Err(DecryptError::UnsupportedVersion(2)));
    }

    #[test]
    #[should_panic(expected = "open: the key of term 2")]
    fn open_asserts_term_header() {
        let stored = seal(&KEY, 1, "a", b"x").unwrap();
        let _ = open(&KEY, 2, "a", &stored);
    }
}
