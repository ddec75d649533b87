//! The barrier's one error type.

use crate::aead::DecryptError;
use crate::physical::PhysicalError;

/// Everything that can go wrong at the barrier.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BarrierError {
    /// The barrier holds no keys; unseal it first.
    #[error("barrier is sealed")]
    Sealed,
    /// There is no keyring in storage yet.
    #[error("barrier is not initialized")]
    NotInitialized,
    /// `initialize` found an existing keyring.
    #[error("barrier is already initialized")]
    AlreadyInitialized,
    /// The root key does not open the keyring.
    #[error("invalid root key")]
    InvalidKey,
    /// Key bytes of the wrong length were offered as a root key.
    #[error("root key must be 32 bytes, got {0}")]
    KeyLength(usize),
    /// A stored value could not be opened: tampered, truncated, or read under another path.
    #[error("cannot decrypt value at {path:?}: {reason}")]
    Decrypt {
        /// The storage path the value was read under.
        path: String,
        /// What was wrong with it.
        reason: DecryptError,
    },
    /// A value names a key term this barrier does not know, even after reloading the keyring.
    #[error("unknown key term {0}")]
    UnknownTerm(u32),
    /// The path is the barrier's own (`core/keyring`) and cannot be read or written through it.
    #[error("path {0:?} is reserved by the barrier")]
    ReservedPath(String),
    /// AES-GCM refused to encrypt (only possible for absurdly large values).
    #[error("cannot encrypt value at {0:?}")]
    Encrypt(String),
    /// The operating system's random source failed.
    #[error("random source unavailable: {0}")]
    Random(String),
    /// The underlying store failed.
    #[error(transparent)]
    Physical(#[from] PhysicalError),
    /// The keyring record decrypted but makes no sense.
    #[error("corrupt keyring: {0}")]
    Corrupt(String),
}
