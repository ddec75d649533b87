//! One error type for the request pipeline, mapped once to Vault's HTTP statuses and
//! `{"errors": [...]}` bodies (see `ApiError::status`).

use http::StatusCode;

/// What went wrong with one request; each variant maps to exactly one HTTP status.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 400: the caller sent something malformed or invalid.
    #[error("{0}")]
    BadRequest(String),
    /// 403: missing or bad token, or the ACL denies the path.
    #[error("permission denied")]
    PermissionDenied,
    /// 403 with Vault's specific message (`bad token`).
    #[error("{0}")]
    Forbidden(String),
    /// 404: nothing is mounted or stored there. The message may be empty (Vault sends `errors: []`).
    #[error("{0}")]
    NotFound(String),
    /// 405: the path exists but does not take this operation.
    #[error("unsupported operation")]
    UnsupportedOperation,
    /// 405 with a specific message (Vault uses it for unsupported paths inside a mount).
    #[error("{0}")]
    MethodNotAllowed(String),
    /// 413: the request body is over the listener's `max_request_size`, or a write would make
    /// a replicated entry over the storage's `max_entry_size`. Nothing was written.
    #[error("{0}")]
    PayloadTooLarge(String),
    /// 412: a check-and-set or version precondition failed.
    #[error("{0}")]
    PreconditionFailed(String),
    /// 429: too many requests (also standby in sys/health, which builds its own response).
    #[error("{0}")]
    TooManyRequests(String),
    /// 500: a storage, barrier or internal failure; the message never carries secret values.
    #[error("{0}")]
    Internal(String),
    /// 503: the node is sealed.
    #[error("Vault is sealed")]
    Sealed,
    /// 503: the node is not yet initialised or is otherwise unavailable.
    #[error("{0}")]
    Unavailable(String),
}

impl ApiError {
    /// Vault's 404 for a path no handler serves.
    pub fn no_route(path: &str) -> ApiError {
        ApiError::NotFound(format!(
            "no handler for route \"{path}\". route entry not found."
        ))
    }

    /// The HTTP status Vault answers this error with.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::PermissionDenied | ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::UnsupportedOperation | ApiError::MethodNotAllowed(_) => {
                StatusCode::METHOD_NOT_ALLOWED
            }
            ApiError::PreconditionFailed(_) => StatusCode::PRECONDITION_FAILED,
            ApiError::PayloadTooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyRequests(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Sealed | ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    /// The `errors` list of the JSON body.
    pub fn messages(&self) -> Vec<String> {
        match self {
            ApiError::NotFound(m) if m.is_empty() => Vec::new(),
            other => vec![other.to_string()],
        }
    }

    /// Shorthand for a 400 with a formatted message.
    pub fn bad(msg: impl Into<String>) -> Self {
        ApiError::BadRequest(msg.into())
    }

    /// Shorthand for a 500 from any displayable cause.
    pub fn internal(cause: impl std::fmt::Display) -> Self {
        ApiError::Internal(cause.to_string())
    }
}

impl From<coffer_barrier::BarrierError> for ApiError {
    fn from(e: coffer_barrier::BarrierError) -> Self {
        match e {
            coffer_barrier::BarrierError::Sealed => ApiError::Sealed,
            coffer_barrier::BarrierError::Physical(
                too_large @ coffer_barrier::PhysicalError::TooLarge { .. },
            ) => ApiError::PayloadTooLarge(too_large.to_string()),
            other => ApiError::Internal(other.to_string()),
        }
    }
}
