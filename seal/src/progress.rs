//! Collecting key shares towards a threshold: unseal, rekey, rekey
//! verification and generate-root all use one [`KeyCollector`].
//!
//! Plain data, no I/O: the caller feeds parts in and, once the threshold is
//! reached, gets the combined secret back and decides what it opens.

use std::fmt;

use base64::Engine as _;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::error::SealError;
use crate::rng::{self, KEY_LEN};
use crate::shamir::{self, SHARE_OVERHEAD};

/// Shortest key share accepted (Vault's minimum barrier key length).
pub const MIN_PART_LEN: usize = 16;
/// Longest key share accepted: a 32-byte key plus the share's x coordinate.
pub const MAX_PART_LEN: usize = KEY_LEN + SHARE_OVERHEAD;

/// Key shares gathered so far for one operation, with its nonce.
pub struct KeyCollector {
    threshold: u8,
    nonce: String,
    parts: Vec<Zeroizing<Vec<u8>>>,
}

impl KeyCollector {
    /// A collector that combines once `threshold` distinct parts are in
    /// (a threshold of 0 is treated as 1). Gets a fresh UUID nonce.
    pub fn new(threshold: u8) -> Self {
        Self {
            threshold: threshold.max(1),
            nonce: rng::uuid_v4(),
            parts: Vec::new(),
        }
    }

    /// Adds one key part. Returns `Ok(None)` while below the threshold and
    /// `Ok(Some(secret))` when the threshold is reached; the parts are then
    /// forgotten (also if combining fails), the nonce is kept.
    ///
    /// A part given twice is refused with [`SealError::Duplicate`] and not
    /// counted. With a threshold of 1 the part is the secret itself.
    pub fn add(&mut self, part: Vec<u8>) -> Result<Option<Zeroizing<Vec<u8>>>, SealError> {
        let part = Zeroizing::new(part);
        if part.len() < MIN_PART_LEN {
            return Err(SealError::InvalidShares(format!(
                "key is shorter than minimum {MIN_PART_LEN} bytes"
            )));
        }
        if part.len() > MAX_PART_LEN {
            return Err(SealError::InvalidShares(format!(
                "key is longer than maximum {MAX_PART_LEN} bytes"
            )));
        }
        if self
            .parts
            .iter()
            .any(|p| bool::from(p.as_slice().ct_eq(part.as_slice())))
        {
            return Err(SealError::Duplicate);
        }
        self.parts.push(part);
        if self.parts.len() < usize::from(self.threshold) {
            return Ok(None);
        }
        let parts = std::mem::take(&mut self.parts);
        if self.threshold == 1 {
            return Ok(parts.into_iter().next());
        }
        let refs: Vec<&[u8]> = parts.iter().map(|p| p.as_slice()).collect();
        shamir::combine(&refs).map(Some)
    }

    /// Parts collected so far (always below the threshold).
    pub fn progress(&self) -> u8 {
        u8::try_from(self.parts.len()).unwrap_or(u8::MAX)
    }

    /// Parts needed to combine.
    pub fn threshold(&self) -> u8 {
        self.threshold
    }

    /// The operation's nonce (a UUID v4).
    pub fn nonce(&self) -> &str {
        &self.nonce
    }

    /// Forgets every part and takes a new nonce.
    pub fn reset(&mut self) {
        self.parts.clear();
        self.nonce = rng::uuid_v4();
    }
}

impl fmt::Debug for KeyCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("KeyCollector")
            .field("threshold", &self.threshold)
            .field("nonce", &self.nonce)
            .field("progress", &self.parts.len())
            .field("parts", &"<redacted>")
            .finish()
    }
}

/// Decodes a user-supplied key or key share: hex first, then standard
/// base64, as Vault does for `sys/unseal`, rekey and generate-root. Leading
/// and trailing whitespace is ignored.
pub fn decode_key(s: &str) -> Result<Vec<u8>, SealError> {
    let s = s.trim();
    if s.is_empty() {
        return Err(SealError::InvalidKeyEncoding);
    }
    hex::decode(s)
        .or_else(|_| base64::engine::general_purpose::STANDARD.decode(s))
        .map_err(|_| SealError::InvalidKeyEncoding)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::shamir::split;

    fn key() -> Vec<u8> {
        vec![0x42; KEY_LEN]
    }

    #[test]
    fn combines_at_threshold_and_forgets_parts() {
        let parts = split(&key(), 5, 3).unwrap();
        let mut c = KeyCollector::new(3);
        let nonce = c.nonce().to_owned();
        assert_eq!(c.add(parts[4].to_vec()).unwrap(), None);
        assert_eq!(c.progress(), 1);
        assert_eq!(c.add(parts[1].to_vec()).unwrap(), None);
        assert_eq!(c.progress(), 2);
        let secret = c.add(parts[2].to_vec()).unwrap().unwrap();
        assert_eq!(*secret, key());
        assert_eq!(c.progress(), 0);
        assert_eq!(c.threshold(), 3);
        assert_eq!(c.nonce(), nonce);
    }

    #[test]
    fn duplicate_is_refused_and_not_counted() {
        let parts = split(&key(), 5, 3).unwrap();
        let mut c = KeyCollector::new(3);
        c.add(parts[0].to_vec()).unwrap();
        assert_eq!(c.add(parts[0].to_vec()), Err(SealError::Duplicate));
        assert_eq!(c.progress(), 1);
        assert_eq!(c.add(parts[1].to_vec()).unwrap(), None);
        assert_eq!(c.progress(), 2);
    }

    #[test]
    fn reset_forgets_parts_and_changes_nonce() {
        let parts = split(&key(), 5, 3).unwrap();
        let mut c = KeyCollector::new(3);
        let nonce = c.nonce().to_owned();
        c.add(parts[0].to_vec()).unwrap();
        c.add(parts[1].to_vec()).unwrap();
        c.reset();
        assert_eq!(c.progress(), 0);
        assert_ne!(c.nonce(), nonce);
        // The same parts count again after a reset.
        assert_eq!(c.add(parts[0].to_vec()).unwrap(), None);
    }

    #[test]
    fn threshold_one_returns_the_part_itself() {
        let mut c = KeyCollector::new(1);
        assert_eq!(*c.add(key()).unwrap().unwrap(), key());
        assert_eq!(KeyCollector::new(0).threshold(), 1);
    }

    #[test]
    fn part_lengths_are_bounded() {
        let mut c = KeyCollector::new(2);
        assert!(matches!(
            c.add(vec![1; 15]),
            Err(SealError::InvalidShares(_))
        ));
        assert!(matches!(
            c.add(vec![1; 34]),
            Err(SealError::InvalidShares(_))
        ));
        assert_eq!(c.progress(), 0);
    }

    #[test]
    fn debug_redacts_parts() {
        let mut c = KeyCollector::new(2);
        c.add(vec![0xAB; 33]).unwrap();
        let dbg = format!("{c:?}");
        assert!(dbg.contains("redacted"));
        assert!(!dbg.contains("171"), "{dbg}");
    }

    #[test]
    fn decode_key_accepts_hex_then_base64() {
        let bytes = vec![0xde, 0xad, 0xbe, 0xef, 0x00, 0xff];
        assert_eq!(decode_key("deadbeef00ff").unwrap(), bytes);
        assert_eq!(decode_key("3q2+7wD/").unwrap(), bytes);
        assert_eq!(decode_key(" 3q2+7wD/\n").unwrap(), bytes);
        // Valid as both: hex wins, as in Vault.
        assert_eq!(decode_key("abcd").unwrap(), vec![0xab, 0xcd]);
        assert_eq!(decode_key("not a key!"), Err(SealError::InvalidKeyEncoding));
        assert_eq!(decode_key(""), Err(SealError::InvalidKeyEncoding));
    }
}
