//! What can go wrong talking to a database. Messages are PostgreSQL's or ours, never a
//! password or a connection URL.

use crate::error::ApiError;

/// One failed database operation.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DbError {
    /// Could not connect (refused, unreachable, bad credentials, bad URL).
    #[error("connect: {0}")]
    Connect(String),
    /// A statement failed.
    #[error("{0}")]
    Query(String),
    /// The database did not answer in time.
    #[error("timed out waiting for the database")]
    Timeout,
    /// Built for the simulation, which has no database client.
    #[error("database engine not available in simulation")]
    Simulation,
}

impl From<DbError> for ApiError {
    /// A database failure during a request is ours to report (500), as Vault does.
    fn from(e: DbError) -> Self {
        ApiError::Internal(e.to_string())
    }
}
