//! Under simulation there is no PostgreSQL client (tokio-postgres needs the real tokio): every
//! operation that would reach a database fails with a 500.

use super::error::DbError;

/// Never constructed under simulation.
pub struct Conn {
    _never: std::convert::Infallible,
}

pub async fn connect(_conn_str: &str) -> Result<Conn, DbError> {
    Err(DbError::Simulation)
}

impl Conn {
    pub async fn ping(&self) -> Result<(), DbError> {
        Err(DbError::Simulation)
    }

    pub async fn run_in_transaction(&mut self, _statements: &[String]) -> Result<(), DbError> {
        Err(DbError::Simulation)
    }

    pub async fn role_exists(&self, _name: &str) -> Result<bool, DbError> {
        Err(DbError::Simulation)
    }

    pub async fn default_drop(&self, _name: &str) -> Result<(), DbError> {
        Err(DbError::Simulation)
    }
}
