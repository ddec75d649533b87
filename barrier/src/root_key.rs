//! [`RootKey`]: the key that encrypts the keyring. The seal protects it; the barrier only holds it.

use std::fmt;

use zeroize::Zeroizing;

use crate::aead::KEY_LEN;
use crate::error::BarrierError;
use crate::random;

/// The 32-byte root key. Zeroized on drop; its `Debug` never shows the bytes.
pub struct RootKey(Zeroizing<[u8; KEY_LEN]>);

impl RootKey {
    /// A fresh random root key.
    ///
    /// # Panics
    /// If the operating system's random source fails; see [`RootKey::try_generate`].
    pub fn generate() -> RootKey {
        Self::try_generate().expect("the OS random source works on every supported platform")
    }

    /// A fresh random root key, or an error if the random source fails.
    pub fn try_generate() -> Result<RootKey, BarrierError> {
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        random::fill(&mut key[..])?;
        Ok(RootKey(key))
    }

    /// Copy key bytes (e.g. just unwrapped by a seal); they must be exactly 32.
    pub fn from_bytes(bytes: &[u8]) -> Result<RootKey, BarrierError> {
        if bytes.len() != KEY_LEN {
            return Err(BarrierError::KeyLength(bytes.len()));
        }
        let mut key = Zeroizing::new([0u8; KEY_LEN]);
        key.copy_from_slice(bytes);
        Ok(RootKey(key))
    }

    /// The key bytes, for a seal to wrap.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0[..]
    }

    /// The key as the fixed-size array AES wants.
    pub(crate) fn key(&self) -> &[u8; KEY_LEN] {
        &self.0
    }

    /// A second copy, for the barrier to keep while unsealed. Deliberately not `Clone`.
    pub(crate) fn duplicate(&self) -> RootKey {
        RootKey(self.0.clone())
    }
}

impl fmt::Debug for RootKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RootKey(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_bytes_requires_32() {
        assert!(matches!(
            RootKey::from_bytes(&[1; 31]),
            Err(BarrierError::KeyLength(31))
        ));
        assert!(matches!(
            RootKey::from_bytes(&[1; 33]),
            Err(BarrierError::KeyLength(33))
        ));
        assert_eq!(RootKey::from_bytes(&[9; 32]).unwrap().as_bytes(), &[9; 32]);
    }

    #[test]
    fn generated_keys_differ() {
        assert_ne!(
            RootKey::generate().as_bytes(),
            RootKey::generate().as_bytes()
        );
    }

    #[test]
    fn debug_hides_bytes() {
        assert_eq!(
            format!("{:?}", RootKey::from_bytes(&[0xab; 32]).unwrap()),
            "RootKey(..)"
        );
    }
}
