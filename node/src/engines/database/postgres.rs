//! The PostgreSQL side: one connection per operation (opened, used, dropped; no pool), each
//! bounded by a connect timeout and an overall timeout, over tokio-postgres without TLS on the
//! wire (`sslmode=disable` or `prefer` connection URLs; `require` fails to connect). Not built
//! under simulation (tokio-postgres runs on the real tokio): `postgres_sim.rs` stands in there.
//! Errors carry PostgreSQL's message, which never holds a password; a connection URL's parse
//! error is replaced by our own words, since it could echo the URL.

use super::error::DbError;
use super::quote_ident;
use std::time::Duration;
use tokio_postgres::NoTls;

const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
const OPERATION_TIMEOUT: Duration = Duration::from_secs(30);

/// An open connection to one database.
pub struct Conn {
    client: tokio_postgres::Client,
}

fn query_error(e: tokio_postgres::Error) -> DbError {
    // `as_db_error` holds the server's own message; other errors are I/O or protocol ones.
    match e.as_db_error() {
        Some(db) => DbError::Query(db.message().to_string()),
        None => DbError::Query(e.to_string()),
    }
}

async fn bounded<T>(
    fut: impl std::future::Future<Output = Result<T, DbError>>,
) -> Result<T, DbError> {
    tokio::time::timeout(OPERATION_TIMEOUT, fut)
        .await
        .unwrap_or(Err(DbError::Timeout))
}

/// Open a connection with an already templated connection string.
pub async fn connect(conn_str: &str) -> Result<Conn, DbError> {
    let mut config: tokio_postgres::Config = conn_str
        .parse()
        .map_err(|_| DbError::Connect("invalid connection_url".into()))?;
    config.connect_timeout(CONNECT_TIMEOUT);
    let fut = async {
        let (client, connection) = config.connect(NoTls).await.map_err(|e| {
            DbError::Connect(match e.as_db_error() {
                Some(db) => db.message().to_string(),
                None => e.to_string(),
            })
        })?;
        // The connection drives the socket until the client is dropped.
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!(error = %e, "database connection closed with an error");
            }
        });
        Ok(Conn { client })
    };
    bounded(fut).await
}

impl Conn {
    /// Check the connection answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        bounded(async {
            self.client
                .simple_query("SELECT 1")
                .await
                .map_err(query_error)
        })
        .await
        .map(|_| ())
    }

    /// Run `statements` (each may hold several `;`-separated commands) in one transaction.
    pub async fn run_in_transaction(&mut self, statements: &[String]) -> Result<(), DbError> {
        let client = &mut self.client;
        bounded(async move {
            let tx = client.transaction().await.map_err(query_error)?;
            for stmt in statements {
                tx.batch_execute(stmt).await.map_err(query_error)?;
            }
            tx.commit().await.map_err(query_error)
        })
        .await
    }

    /// Whether a role of that name exists.
    pub async fn role_exists(&self, name: &str) -> Result<bool, DbError> {
        bounded(async {
            let row = self
                .client
                .query_one(
                    "SELECT exists (SELECT rolname FROM pg_roles WHERE rolname = $1)",
                    &[&name],
                )
                .await
                .map_err(query_error)?;
            row.try_get::<_, bool>(0).map_err(query_error)
        })
        .await
    }

    /// Vault's default revocation for PostgreSQL: revoke what the role was granted (table
    /// privileges per schema, then `public`'s and the database's `CONNECT`), each step on its
    /// own so as much access as possible goes, then `DROP ROLE IF EXISTS`.
    pub async fn default_drop(&self, name: &str) -> Result<(), DbError> {
        bounded(async {
            let user = quote_ident(name);
            let rows = self
                .client
                .query(
                    "SELECT DISTINCT table_schema FROM information_schema.role_column_grants \
                     WHERE grantee = $1",
                    &[&name],
                )
                .await
                .map_err(query_error)?;
            let mut stmts = Vec::new();
            for row in rows {
                let schema: String = row.try_get(0).map_err(query_error)?;
                let schema = quote_ident(&schema);
                stmts.push(format!(
                    "REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA {schema} FROM {user};"
                ));
                stmts.push(format!("REVOKE USAGE ON SCHEMA {schema} FROM {user};"));
            }
            stmts.push(format!(
                "REVOKE ALL PRIVILEGES ON ALL TABLES IN SCHEMA public FROM {user};"
            ));
            stmts.push(format!(
                "REVOKE ALL PRIVILEGES ON ALL SEQUENCES IN SCHEMA public FROM {user};"
            ));
            stmts.push(format!("REVOKE USAGE ON SCHEMA public FROM {user};"));
            let db = self
                .client
                .query_one("SELECT current_database()", &[])
                .await
                .map_err(query_error)?;
            let db: String = db.try_get(0).map_err(query_error)?;
            stmts.push(format!(
                "REVOKE CONNECT ON DATABASE {} FROM {user};",
                quote_ident(&db)
            ));
            for stmt in &stmts {
                if let Err(e) = self.client.batch_execute(stmt).await {
                    tracing::debug!(error = %query_error(e), "a revocation step failed; continuing");
                }
            }
            self.client
                .batch_execute(&format!("DROP ROLE IF EXISTS {user};"))
                .await
                .map_err(query_error)
        })
        .await
    }
}
