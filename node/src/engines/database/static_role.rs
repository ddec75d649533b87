//! Static roles: an existing database user whose password the engine owns and rotates
//! (`static-roles/<name>`, `static-creds/<name>`, `rotate-role/<name>`), at once when the role is
//! written and then every `rotation_period`, by the active node's timer (`rotate_due`).

use super::{config, statements_field, template, unknown, username, STORE_ROLE, STORE_STATIC};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::{Operation, Response};
use crate::storage::StorageView;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

const DEFAULT_ROTATION: &str = r#"ALTER ROLE "{{name}}" WITH PASSWORD '{{password}}';"#;
const MIN_ROTATION_PERIOD: u64 = 5;

/// Rotations (by request or timer, any mount) one at a time, so two never race on a role's
/// password: the database and the stored record would disagree.
static ROTATIONS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// One static role. Not `Debug`: it holds the current password.
#[derive(Clone, Default, Serialize, Deserialize)]
pub struct StaticRole {
    pub db_name: String,
    pub username: String,
    pub rotation_period: u64,
    #[serde(default)]
    pub rotation_statements: Vec<String>,
    #[serde(default)]
    pub password: String,
    /// Unix seconds of the last rotation (0: never).
    #[serde(default)]
    pub last_vault_rotation: i64,
}

impl StaticRole {
    fn last_rotation(&self) -> String {
        crate::clock::rfc3339(
            std::time::UNIX_EPOCH
                + std::time::Duration::from_secs(
                    u64::try_from(self.last_vault_rotation).unwrap_or(0),
                ),
        )
    }

    /// Seconds until the next rotation is due.
    fn ttl(&self, now: i64) -> u64 {
        let due = self
            .last_vault_rotation
            .saturating_add(i64::try_from(self.rotation_period).unwrap_or(i64::MAX));
        u64::try_from(due.saturating_sub(now)).unwrap_or(0)
    }

    fn to_json(&self) -> Value {
        json!({
            "db_name": self.db_name,
            "username": self.username,
            "rotation_statements": self.rotation_statements,
            "rotation_period": self.rotation_period,
            "last_vault_rotation": self.last_rotation(),
            "credential_type": "password",
        })
    }
}

async fn load(storage: &StorageView, name: &str) -> Result<Option<StaticRole>, ApiError> {
    storage.get_json(&format!("{STORE_STATIC}{name}")).await
}

/// Give the role a new random password in the database, then store it. The caller holds
/// `ROTATIONS`.
async fn rotate(storage: &StorageView, name: &str, role: &mut StaticRole) -> Result<(), ApiError> {
    let cfg = config::require(storage, &role.db_name).await?;
    if !cfg.allows(name) {
        return Err(ApiError::bad(format!("{name:?} is not an allowed role")));
    }
    let password = username::password();
    let stmts = if role.rotation_statements.is_empty() {
        vec![DEFAULT_ROTATION.to_string()]
    } else {
        role.rotation_statements.clone()
    };
    let vars = [
        ("name", role.username.as_str()),
        ("username", role.username.as_str()),
        ("password", password.as_str()),
    ];
    let stmts: Vec<String> = stmts.iter().map(|s| template(s, &vars)).collect();
    let mut conn = cfg.connect().await?;
    if !conn.role_exists(&role.username).await? {
        return Err(ApiError::bad(format!(
            "cannot update credentials for user that does not exist: {:?}",
            role.username
        )));
    }
    conn.run_in_transaction(&stmts).await?;
    role.password = password;
    role.last_vault_rotation = crate::clock::unix_now();
    storage
        .put_json(&format!("{STORE_STATIC}{name}"), role)
        .await
}

/// `static-roles` and `static-roles/<name>`.
pub async fn route(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    let key = format!("{STORE_STATIC}{name}");
    match (m.req.operation, name) {
        (Operation::List, "") => super::list(m.storage, STORE_STATIC).await,
        (_, "") => Err(ApiError::UnsupportedOperation),
        (Operation::Read, n) => match load(m.storage, n).await? {
            Some(role) => Ok(Some(Response::data(role.to_json()))),
            None => Err(ApiError::NotFound(String::new())),
        },
        (Operation::Create | Operation::Update, n) => write(m, n).await,
        (Operation::Delete, _) => {
            let _g = ROTATIONS.lock().await;
            m.storage.delete(&key).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

async fn write(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    if m.storage
        .get(&format!("{STORE_ROLE}{name}"))
        .await?
        .is_some()
    {
        return Err(ApiError::bad("Role and Static Role names must be unique"));
    }
    let f = Fields(&m.req.data);
    let _g = ROTATIONS.lock().await;
    let old = load(m.storage, name).await?;
    let creating = old.is_none();
    let mut role = old.unwrap_or_default();
    if let Some(db) = f.str_opt("db_name")? {
        role.db_name = db;
    }
    if role.db_name.is_empty() {
        return Err(ApiError::bad("database name is required"));
    }
    match f.str_opt("username")? {
        Some(u) if !creating && u != role.username => {
            return Err(ApiError::bad("cannot update static account username"))
        }
        Some(u) => role.username = u,
        None if creating => {
            return Err(ApiError::bad(
                "username is a required field to create a static account",
            ))
        }
        None => {}
    }
    match f.secs_opt("rotation_period")? {
        Some(p) if p < MIN_ROTATION_PERIOD => {
            return Err(ApiError::bad(format!(
                "rotation_period must be {MIN_ROTATION_PERIOD} seconds or more"
            )))
        }
        Some(p) => role.rotation_period = p,
        None if creating => {
            return Err(ApiError::bad(
                "one of rotation_schedule or rotation_period must be provided to create a static account",
            ))
        }
        None => {}
    }
    if let Some(v) = m.req.data.get("rotation_statements") {
        role.rotation_statements = statements_field(v, "rotation_statements")?;
    }
    if creating {
        rotate(m.storage, name, &mut role).await?;
    } else {
        m.storage
            .put_json(&format!("{STORE_STATIC}{name}"), &role)
            .await?;
    }
    Ok(None)
}

/// `static-creds/<name>`.
pub async fn creds(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    let role = load(m.storage, name)
        .await?
        .ok_or_else(|| unknown("static role", name))?;
    let now = crate::clock::unix_now();
    Ok(Some(Response::data(json!({
        "username": role.username,
        "password": role.password,
        "last_vault_rotation": role.last_rotation(),
        "rotation_period": role.rotation_period,
        "ttl": role.ttl(now),
    }))))
}

/// `rotate-role/<name>`.
pub async fn rotate_now(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    let _g = ROTATIONS.lock().await;
    let mut role = load(m.storage, name)
        .await?
        .ok_or_else(|| unknown("static role", name))?;
    rotate(m.storage, name, &mut role).await?;
    Ok(None)
}

/// Rotate every static role of one mount whose period has run out; returns how many were
/// rotated. A failure is logged and retried at the next tick.
pub async fn rotate_due(storage: &StorageView) -> Result<usize, ApiError> {
    let mut rotated = 0;
    for name in storage.list(STORE_STATIC).await? {
        let _g = ROTATIONS.lock().await;
        let Some(mut role) = load(storage, &name).await? else {
            continue;
        };
        if role.ttl(crate::clock::unix_now()) > 0 {
            continue;
        }
        match rotate(storage, &name, &mut role).await {
            Ok(()) => rotated += 1,
            Err(e) => tracing::warn!(role = %name, error = %e, "static role rotation failed"),
        }
    }
    Ok(rotated)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ttl_counts_down_to_the_next_rotation() {
        let role = StaticRole {
            rotation_period: 60,
            last_vault_rotation: 1000,
            ..Default::default()
        };
        assert_eq!(role.ttl(1000), 60);
        assert_eq!(role.ttl(1050), 10);
        assert_eq!(role.ttl(2000), 0);
        assert!(!role.to_json().to_string().contains("password\":"));
    }
}
