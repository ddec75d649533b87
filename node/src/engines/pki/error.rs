//! PKI's errors: the caller's mistakes (Vault's `errutil.UserError`, 400) apart from failures of
//! ours (500). Messages never carry key material.

use crate::error::ApiError;

/// One failed PKI operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PkiError {
    /// Bad input: 400 with this message.
    #[error("{0}")]
    User(String),
    /// Our failure: 500.
    #[error("{0}")]
    Internal(String),
}

impl PkiError {
    /// Shorthand for a 400.
    pub fn user(msg: impl Into<String>) -> Self {
        PkiError::User(msg.into())
    }
}

impl From<rcgen::Error> for PkiError {
    fn from(e: rcgen::Error) -> Self {
        PkiError::Internal(format!("error building certificate: {e}"))
    }
}

impl From<PkiError> for ApiError {
    fn from(e: PkiError) -> Self {
        match e {
            PkiError::User(m) => ApiError::BadRequest(m),
            PkiError::Internal(m) => ApiError::Internal(m),
        }
    }
}
