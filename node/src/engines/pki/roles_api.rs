//! `roles` (LIST) and `roles/<name>` (write, read, delete).

use super::role::Role;
use super::store;
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::{Operation, Response};
use serde_json::json;

/// Vault's role names: no slashes, not empty.
fn valid_name(name: &str) -> bool {
    !name.is_empty() && !name.contains('/')
}

/// The role `name`, if it exists.
pub async fn load(m: &MountRequest<'_>, name: &str) -> Result<Option<Role>, ApiError> {
    if !valid_name(name) {
        return Ok(None);
    }
    store::get(m.storage, &format!("{}{name}", store::ROLE_PREFIX)).await
}

/// Dispatch `roles/<rest>`.
pub async fn route(m: &MountRequest<'_>, rest: &str) -> Result<Option<Response>, ApiError> {
    let op = m.req.operation;
    if rest.is_empty() {
        return match op {
            Operation::List => {
                let names = m.storage.list(store::ROLE_PREFIX).await?;
                if names.is_empty() {
                    return Err(ApiError::NotFound(String::new()));
                }
                Ok(Some(Response::data(json!({ "keys": names }))))
            }
            _ => Err(ApiError::UnsupportedOperation),
        };
    }
    if !valid_name(rest) {
        return Err(super::unsupported_path());
    }
    let path = format!("{}{rest}", store::ROLE_PREFIX);
    match op {
        Operation::Read => match load(m, rest).await? {
            Some(role) => Ok(Some(Response::data(role.to_json()))),
            None => Err(ApiError::NotFound(String::new())),
        },
        Operation::Create | Operation::Update => {
            let role = Role::from_fields(&m.req.data)?;
            store::put(m.storage, &path, &role).await?;
            Ok(Some(Response::data(role.to_json())))
        }
        Operation::Delete => {
            m.storage.delete(&path).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
