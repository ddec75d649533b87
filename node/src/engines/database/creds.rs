//! `creds/<role>`: a new database user under a lease, and the lease hooks that drop it
//! (`revoke`) or push its expiry (`renew`).

use super::{config, expiration, role, template, unknown, username};
use crate::engines::{LeaseCall, MountRequest, SecretLease};
use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::request::Response;
use serde_json::{json, Map, Value};

const DEFAULT_RENEW: &str = r#"ALTER ROLE "{{name}}" VALID UNTIL '{{expiration}}';"#;

/// The mount's default and max lease TTLs (0 in the table: the system's 768h).
fn mount_ttls(mount: &MountEntry) -> (u64, u64) {
    let or_system = |t: u64| {
        if t == 0 {
            crate::config::DEFAULT_LEASE_TTL_SECS
        } else {
            t
        }
    };
    (
        or_system(mount.config.default_lease_ttl),
        or_system(mount.config.max_lease_ttl),
    )
}

/// The TTL a lease gets: the asked-for or the role's default (else the mount's), capped by the
/// role's max (else the mount's).
fn lease_ttl(asked: u64, role: &role::Role, mount: &MountEntry) -> u64 {
    let (mount_default, mount_max) = mount_ttls(mount);
    let max = if role.max_ttl > 0 {
        role.max_ttl.min(mount_max)
    } else {
        mount_max
    };
    let ttl = if asked > 0 {
        asked
    } else if role.default_ttl > 0 {
        role.default_ttl
    } else {
        mount_default
    };
    ttl.min(max)
}

fn internal_str<'a>(internal: &'a Map<String, Value>, key: &str) -> Result<&'a str, ApiError> {
    internal
        .get(key)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty())
        .ok_or_else(|| ApiError::internal(format!("secret is missing {key} internal data")))
}

/// `creds/<role>`.
pub async fn issue(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    let role = role::load(m.storage, name)
        .await?
        .ok_or_else(|| unknown("role", name))?;
    let cfg = config::require(m.storage, &role.db_name).await?;
    if !cfg.allows(name) {
        return Err(ApiError::bad(format!("{name:?} is not an allowed role")));
    }
    if role.creation_statements.is_empty() {
        return Err(ApiError::internal("empty creation statements"));
    }
    let now = crate::clock::unix_now();
    let ttl = lease_ttl(0, &role, m.mount);
    let display = if m.req.display_name.is_empty() {
        "token"
    } else {
        m.req.display_name.as_str()
    };
    let user = username::dynamic_username(display, name, now);
    let password = username::password();
    let expires = expiration(now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)));
    let vars = [
        ("name", user.as_str()),
        ("username", user.as_str()),
        ("password", password.as_str()),
        ("expiration", expires.as_str()),
    ];
    let stmts: Vec<String> = role
        .creation_statements
        .iter()
        .map(|s| template(s, &vars))
        .collect();
    let mut conn = cfg.connect().await?;
    if let Err(e) = conn.run_in_transaction(&stmts).await {
        if !role.rollback_statements.is_empty() {
            let rollback: Vec<String> = role
                .rollback_statements
                .iter()
                .map(|s| template(s, &vars))
                .collect();
            if let Err(re) = conn.run_in_transaction(&rollback).await {
                tracing::warn!(role = name, error = %re, "rollback statements failed");
            }
        }
        return Err(e.into());
    }
    let mut internal = Map::new();
    internal.insert("username".into(), user.clone().into());
    internal.insert("role".into(), name.into());
    internal.insert("db_name".into(), role.db_name.clone().into());
    internal.insert(
        "revocation_statements".into(),
        json!(role.revocation_statements),
    );
    let mut resp = Response::data(json!({ "username": user, "password": password }));
    resp.lease_duration = ttl;
    resp.renewable = true;
    resp.secret = Some(SecretLease {
        ttl_secs: ttl,
        max_ttl_secs: role.max_ttl,
        renewable: true,
        internal,
    });
    Ok(Some(resp))
}

/// Drop a leased user: the role's revocation statements (those stored with the lease if the
/// role is gone), else Vault's default revocation. A user already gone is revoked.
pub async fn revoke(call: &LeaseCall<'_>) -> Result<(), ApiError> {
    let user = internal_str(call.internal, "username")?;
    let db_name = internal_str(call.internal, "db_name")?;
    let cfg = config::require(call.storage, db_name).await?;
    let stmts = match call.internal.get("role").and_then(Value::as_str) {
        Some(r) => match role::load(call.storage, r).await? {
            Some(role) => role.revocation_statements,
            None => stored_statements(call.internal),
        },
        None => stored_statements(call.internal),
    };
    let mut conn = cfg.connect().await?;
    if !conn.role_exists(user).await? {
        return Ok(());
    }
    if stmts.is_empty() {
        return conn.default_drop(user).await.map_err(Into::into);
    }
    let vars = [("name", user), ("username", user)];
    let stmts: Vec<String> = stmts.iter().map(|s| template(s, &vars)).collect();
    conn.run_in_transaction(&stmts).await?;
    Ok(())
}

fn stored_statements(internal: &Map<String, Value>) -> Vec<String> {
    internal
        .get("revocation_statements")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

/// Push a leased user's `VALID UNTIL` to now + the new TTL; answers that TTL.
pub async fn renew(call: &LeaseCall<'_>) -> Result<u64, ApiError> {
    let user = internal_str(call.internal, "username")?;
    let role_name = internal_str(call.internal, "role")?;
    let role = role::load(call.storage, role_name).await?.ok_or_else(|| {
        ApiError::bad(format!(
            "error during renew: could not find role with name {role_name:?}"
        ))
    })?;
    let cfg = config::require(call.storage, &role.db_name).await?;
    let ttl = lease_ttl(call.increment_secs, &role, call.mount);
    let now = crate::clock::unix_now();
    let expires = expiration(now.saturating_add(i64::try_from(ttl).unwrap_or(i64::MAX)));
    let stmts = if role.renew_statements.is_empty() {
        vec![DEFAULT_RENEW.to_string()]
    } else {
        role.renew_statements.clone()
    };
    let vars = [
        ("name", user),
        ("username", user),
        ("expiration", expires.as_str()),
    ];
    let stmts: Vec<String> = stmts.iter().map(|s| template(s, &vars)).collect();
    let mut conn = cfg.connect().await?;
    conn.run_in_transaction(&stmts).await?;
    Ok(ttl)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mount(default: u64, max: u64) -> MountEntry {
        let mut entry: MountEntry = serde_json::from_value(json!({
            "path": "database/", "type": "database", "description": "", "uuid": "u", "accessor": "a"
        }))
        .unwrap();
        entry.config.default_lease_ttl = default;
        entry.config.max_lease_ttl = max;
        entry
    }

    #[test]
    fn ttls_come_from_the_role_then_the_mount() {
        let mut role = role::Role {
            default_ttl: 300,
            max_ttl: 600,
            ..Default::default()
        };
        assert_eq!(lease_ttl(0, &role, &mount(0, 0)), 300);
        assert_eq!(lease_ttl(900, &role, &mount(0, 0)), 600);
        assert_eq!(lease_ttl(0, &role, &mount(0, 120)), 120);
        role.default_ttl = 0;
        role.max_ttl = 0;
        assert_eq!(lease_ttl(0, &role, &mount(60, 0)), 60);
        assert_eq!(lease_ttl(0, &role, &mount(0, 0)), 768 * 3600);
    }
}
