//! The `database` secrets engine (Vault 1.16's `database` backend) with its PostgreSQL plugin
//! (`postgresql-database-plugin`), the only plugin this build has.
//!
//! - `config.rs`: connections (`config/<name>`, `reset/<name>`, `rotate-root/<name>`).
//! - `role.rs`: dynamic roles; `creds.rs`: `creds/<role>`, and the lease hooks that revoke
//!   (drop) and renew the users it makes.
//! - `static_role.rs`: static roles, `static-creds/<name>`, `rotate-role/<name>`, and
//!   `rotate_due`, which the active node's timer (`static_rotation.rs`) calls.
//! - `postgres.rs`: the client (tokio-postgres, one connection per operation; under simulation
//!   `postgres_sim.rs`, which answers 500); `username.rs`: generated names and passwords.
//!
//! Storage (the mount's view, behind the barrier): `config/<name>`, `role/<name>`,
//! `static-role/<name>`, as Vault names them. Root and generated passwords are never logged;
//! responses carrying them are HMAC'd by the audit devices like any response.

mod config;
mod creds;
mod error;
#[cfg(not(madsim))]
mod postgres;
#[cfg(madsim)]
#[path = "postgres_sim.rs"]
mod postgres;
mod role;
mod static_role;
mod username;

pub use error::DbError;
pub use static_role::rotate_due;

use super::{LeaseCall, MountRequest, SecretEngine};
use crate::error::ApiError;
use crate::request::{Operation, Response};
use crate::storage::StorageView;
use async_trait::async_trait;
use serde_json::{json, Value};

const STORE_CONFIG: &str = "config/";
const STORE_ROLE: &str = "role/";
const STORE_STATIC: &str = "static-role/";

/// One `database` mount. Writers of a config (and root rotation) hold `writes`.
#[derive(Default)]
pub struct Database {
    writes: tokio::sync::Mutex<()>,
}

/// A name in a path: not empty, no slash.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/')
}

/// Vault's 400 for a name that names nothing.
fn unknown(what: &str, name: &str) -> ApiError {
    ApiError::bad(format!("unknown {what}: {name}"))
}

/// LIST of the names under `prefix` (404 when none, as Vault answers an empty list).
async fn list(storage: &StorageView, prefix: &str) -> Result<Option<Response>, ApiError> {
    let keys = storage.list(prefix).await?;
    if keys.is_empty() {
        return Err(ApiError::NotFound(String::new()));
    }
    Ok(Some(Response::data(json!({ "keys": keys }))))
}

/// PostgreSQL's quoting of an identifier (`pq.QuoteIdentifier`).
#[cfg_attr(madsim, allow(dead_code))] // its user, postgres.rs, is not built under madsim
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Fill `{{key}}` placeholders of a statement.
fn template(stmt: &str, vars: &[(&str, &str)]) -> String {
    let mut out = stmt.to_string();
    for (k, v) in vars {
        out = out.replace(&format!("{{{{{k}}}}}"), v);
    }
    out
}

/// A statements field, as Vault takes it: a JSON list, or one string that may be a
/// JSON array or base64 of either; empty entries dropped.
fn statements_field(v: &Value, field: &str) -> Result<Vec<String>, ApiError> {
    use base64::Engine;
    let list = match v {
        Value::String(s) => {
            let s = s.trim();
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(s)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .filter(|_| !s.is_empty());
            let s = decoded.as_deref().unwrap_or(s);
            match serde_json::from_str::<Vec<String>>(s) {
                Ok(list) if s.starts_with('[') => list,
                _ => vec![s.to_string()],
            }
        }
        other => crate::fields::string_list(other, field)?,
    };
    Ok(list.into_iter().filter(|s| !s.trim().is_empty()).collect())
}

/// Vault's `{{expiration}}` form: `2006-01-02 15:04:05-0700`, here in UTC.
fn expiration(unix: i64) -> String {
    let t =
        time::OffsetDateTime::from_unix_timestamp(unix).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}+0000",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

fn is_write(op: Operation) -> bool {
    matches!(op, Operation::Create | Operation::Update)
}

#[async_trait]
impl SecretEngine for Database {
    async fn handle(&self, m: MountRequest<'_>) -> Result<Option<Response>, ApiError> {
        let op = m.req.operation;
        let path = m.path.trim_end_matches('/');
        let (head, name) = path.split_once('/').unwrap_or((path, ""));
        if !name.is_empty() && !valid_name(name) {
            return Err(ApiError::NotFound("unsupported path".into()));
        }
        let write = is_write(op);
        match (head, name) {
            ("config", n) => {
                let _g = self.writes.lock().await;
                config::route(&m, n).await
            }
            ("reset", n) if write && !n.is_empty() => config::reset(&m, n).await,
            ("rotate-root", n) if write && !n.is_empty() => {
                let _g = self.writes.lock().await;
                config::rotate_root(&m, n).await
            }
            ("roles", n) => role::route(&m, n).await,
            ("creds", n) if op == Operation::Read && !n.is_empty() => creds::issue(&m, n).await,
            ("static-roles", n) => static_role::route(&m, n).await,
            ("static-creds", n) if op == Operation::Read && !n.is_empty() => {
                static_role::creds(&m, n).await
            }
            ("rotate-role", n) if write && !n.is_empty() => static_role::rotate_now(&m, n).await,
            ("reset" | "rotate-root" | "creds" | "static-creds" | "rotate-role", _) => {
                Err(ApiError::UnsupportedOperation)
            }
            _ => Err(ApiError::NotFound("unsupported path".into())),
        }
    }

    async fn exists(&self, m: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        let path = m.path.trim_end_matches('/');
        let (head, name) = path.split_once('/').unwrap_or((path, ""));
        let prefix = match head {
            "config" => STORE_CONFIG,
            "roles" => STORE_ROLE,
            "static-roles" => STORE_STATIC,
            _ => return Ok(None),
        };
        if !valid_name(name) {
            return Ok(None);
        }
        Ok(Some(
            m.storage.get(&format!("{prefix}{name}")).await?.is_some(),
        ))
    }

    async fn revoke_secret(&self, call: LeaseCall<'_>) -> Result<(), ApiError> {
        creds::revoke(&call).await
    }

    async fn renew_secret(&self, call: LeaseCall<'_>) -> Result<Option<u64>, ApiError> {
        creds::renew(&call).await.map(Some)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statements_take_vaults_forms() {
        let list = json!(["CREATE ROLE \"{{name}}\";", "GRANT x TO \"{{name}}\";"]);
        assert_eq!(statements_field(&list, "s").unwrap().len(), 2);
        let one = json!("CREATE ROLE a; GRANT SELECT, INSERT ON t TO a;");
        assert_eq!(
            statements_field(&one, "s").unwrap(),
            vec!["CREATE ROLE a; GRANT SELECT, INSERT ON t TO a;"]
        );
        let arr = json!(r#"["A;","B;"]"#);
        assert_eq!(statements_field(&arr, "s").unwrap(), vec!["A;", "B;"]);
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD.encode("CREATE ROLE x;");
        assert_eq!(
            statements_field(&json!(b64), "s").unwrap(),
            vec!["CREATE ROLE x;"]
        );
    }

    #[test]
    fn templates_and_expiration() {
        let s = template(
            "CREATE ROLE \"{{name}}\" PASSWORD '{{password}}' VALID UNTIL '{{expiration}}'",
            &[("name", "u"), ("password", "p"), ("expiration", "e")],
        );
        assert_eq!(s, "CREATE ROLE \"u\" PASSWORD 'p' VALID UNTIL 'e'");
        assert_eq!(expiration(0), "1970-01-01 00:00:00+0000");
        assert_eq!(quote_ident("a\"b"), "\"a\"\"b\"");
    }
}
