//! Dynamic roles: `roles/<name>` (write, read, delete) and `roles` LIST.

use super::{statements_field, STORE_ROLE};
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::{Operation, Response};
use crate::storage::StorageView;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

/// One dynamic role.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Role {
    pub db_name: String,
    pub creation_statements: Vec<String>,
    #[serde(default)]
    pub revocation_statements: Vec<String>,
    #[serde(default)]
    pub rollback_statements: Vec<String>,
    #[serde(default)]
    pub renew_statements: Vec<String>,
    /// Seconds (0: the mount's default).
    #[serde(default)]
    pub default_ttl: u64,
    /// Seconds (0: the mount's max).
    #[serde(default)]
    pub max_ttl: u64,
}

impl Role {
    fn to_json(&self) -> Value {
        json!({
            "db_name": self.db_name,
            "creation_statements": self.creation_statements,
            "revocation_statements": self.revocation_statements,
            "rollback_statements": self.rollback_statements,
            "renew_statements": self.renew_statements,
            "default_ttl": self.default_ttl,
            "max_ttl": self.max_ttl,
            "credential_type": "password",
        })
    }

    /// Apply a write's fields over `self` (a new role starts from the default).
    fn apply(&mut self, f: &Fields<'_>) -> Result<(), ApiError> {
        if let Some(db) = f.str_opt("db_name")? {
            self.db_name = db;
        }
        if self.db_name.is_empty() {
            return Err(ApiError::bad("empty database name attribute"));
        }
        let lists = [
            ("creation_statements", &mut self.creation_statements),
            ("revocation_statements", &mut self.revocation_statements),
            ("rollback_statements", &mut self.rollback_statements),
            ("renew_statements", &mut self.renew_statements),
        ];
        for (field, slot) in lists {
            if let Some(v) = f.0.get(field) {
                *slot = statements_field(v, field)?;
            }
        }
        if let Some(t) = f.secs_opt("default_ttl")? {
            self.default_ttl = t;
        }
        if let Some(t) = f.secs_opt("max_ttl")? {
            self.max_ttl = t;
        }
        if self.max_ttl > 0 && self.default_ttl > self.max_ttl {
            return Err(ApiError::bad("ttl cannot be greater than max_ttl"));
        }
        Ok(())
    }
}

/// The role `name`, if stored.
pub async fn load(storage: &StorageView, name: &str) -> Result<Option<Role>, ApiError> {
    storage.get_json(&format!("{STORE_ROLE}{name}")).await
}

/// `roles` and `roles/<name>`.
pub async fn route(m: &MountRequest<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    let key = format!("{STORE_ROLE}{name}");
    match (m.req.operation, name) {
        (Operation::List, "") => super::list(m.storage, STORE_ROLE).await,
        (_, "") => Err(ApiError::UnsupportedOperation),
        (Operation::Read, n) => match load(m.storage, n).await? {
            Some(role) => Ok(Some(Response::data(role.to_json()))),
            None => Err(ApiError::NotFound(String::new())),
        },
        (Operation::Create | Operation::Update, n) => {
            if m.storage
                .get(&format!("{}{n}", super::STORE_STATIC))
                .await?
                .is_some()
            {
                return Err(ApiError::bad("Role and Static Role names must be unique"));
            }
            let mut role = load(m.storage, n).await?.unwrap_or_default();
            role.apply(&Fields(&m.req.data))?;
            m.storage.put_json(&key, &role).await?;
            Ok(None)
        }
        (Operation::Delete, _) => {
            m.storage.delete(&key).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Map;

    fn fields(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    #[test]
    fn writes_merge_and_check_ttls() {
        let mut role = Role::default();
        let first = fields(
            json!({"db_name": "pg", "creation_statements": ["CREATE ROLE x;"], "default_ttl": "1h", "max_ttl": "24h"}),
        );
        role.apply(&Fields(&first)).unwrap();
        assert_eq!((role.default_ttl, role.max_ttl), (3600, 86400));
        let second = fields(json!({"default_ttl": 60}));
        role.apply(&Fields(&second)).unwrap();
        assert_eq!(role.creation_statements, vec!["CREATE ROLE x;"]);
        assert_eq!(role.default_ttl, 60);
        let bad = fields(json!({"default_ttl": "48h"}));
        assert!(role.apply(&Fields(&bad)).is_err());
        let mut empty = Role::default();
        assert!(empty.apply(&Fields(&Map::new())).is_err());
    }
}
