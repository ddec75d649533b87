//! Transit's errors: the caller's mistakes (Vault's `errutil.UserError`, 400) apart from
//! failures of ours (500). Messages never carry key material or plaintext.

use crate::error::ApiError;

/// One failed transit operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TransitError {
    /// Bad input: 400 with this message.
    #[error("{0}")]
    User(String),
    /// Our failure: 500.
    #[error("{0}")]
    Internal(String),
}

impl TransitError {
    /// Shorthand for a 400.
    pub fn user(msg: impl Into<String>) -> Self {
        TransitError::User(msg.into())
    }
}

impl From<TransitError> for ApiError {
    fn from(e: TransitError) -> Self {
        match e {
            TransitError::User(m) => ApiError::BadRequest(m),
            TransitError::Internal(m) => ApiError::Internal(m),
        }
    }
}
