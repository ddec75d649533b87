//! The one error type of this crate.
//!
//! Every `Display` string is written to be shown to a Vault client as one entry
//! of `errors: [..]`; where Vault has a wording for the same failure we use it.
//! No message ever contains key material. Mapping to HTTP statuses is the
//! node's job (one place, next to its other error mappings); as a rule every
//! variant is a 400 except [`SealError::Crypto`] and [`SealError::Backend`].

/// Why a seal, Shamir or key-collection operation failed.
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SealError {
    /// The key (combined from shares, or given whole) does not open the
    /// sealed root key, or a wrapped blob was tampered with. AES-GCM cannot
    /// tell the two apart, and neither does Vault's message.
    #[error("cipher: message authentication failed")]
    InvalidKey,

    /// Bad share count, threshold, or malformed key shares. The text is
    /// Vault's wording (e.g. "threshold must be greater than one for multiple
    /// shares").
    #[error("{0}")]
    InvalidShares(String),

    /// A user-supplied key was neither hex nor standard base64.
    #[error("'key' must be a valid hex or base64 string")]
    InvalidKeyEncoding,

    /// The same key share was given twice in one operation; it was not
    /// counted again.
    #[error("given key has already been provided during this operation")]
    Duplicate,

    /// No operation (rekey, rekey verification, root generation) is in
    /// progress, or the step asked for does not belong to the current phase.
    #[error("no operation in progress")]
    NotStarted,

    /// The nonce supplied does not name the operation in progress.
    #[error("incorrect nonce supplied")]
    BadNonce,

    /// PGP-encrypted key shares were requested; Coffer does not support them.
    #[error("PGP not supported: pgp_keys must be empty")]
    PgpNotSupported,

    /// A request parameter is invalid; the text says which and why.
    #[error("{0}")]
    InvalidRequest(String),

    /// The shares given during rekey verification do not combine to the new
    /// key.
    #[error("rekey verification failed; incorrect key shares supplied")]
    VerificationFailed,

    /// Encoding or decoding a generate-root token failed; the text says why.
    #[error("{0}")]
    Token(String),

    /// A wrapped blob is too short or has an unknown format version.
    #[error("wrapped key is malformed")]
    Malformed,

    /// The AEAD refused to encrypt (an internal failure, not a user error).
    #[error("encryption of the root key failed")]
    Crypto,

    /// A KMS or HSM backing a seal failed; the text names the backend and
    /// its error, never key material.
    #[error("seal backend error: {0}")]
    Backend(String),
}
