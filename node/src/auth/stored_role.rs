//! Roles an auth method keeps under `role/<name>` in its mount (kubernetes, jwt): read in
//! Vault's shape, written field by field over what is stored, deleted.

use super::{data_reply, name_segment, no_content, MountRequest, Outcome};
use crate::error::ApiError;
use crate::request::Operation;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{Map, Value};

/// A role as its method stores it.
pub(crate) trait StoredRole: Serialize + DeserializeOwned + Default {
    /// Apply the fields a write names, validated; the others stay as they are.
    fn apply(&mut self, data: &Map<String, Value>) -> Result<(), ApiError>;
    /// The role as Vault reads it back.
    fn read_json(&self) -> Map<String, Value>;
}

/// The storage key of role `name`.
pub(crate) fn role_key(name: &str) -> String {
    format!("role/{name}")
}

/// Read, create/update or delete role `name` (already normalised by the method).
pub(crate) async fn role_op<R: StoredRole>(
    areq: &MountRequest<'_>,
    name: &str,
) -> Result<Outcome, ApiError> {
    let key = role_key(&name_segment(name, "role name")?);
    match areq.req.operation {
        Operation::Read => match areq.storage.get_json::<R>(&key).await? {
            Some(r) => Ok(data_reply(r.read_json())),
            None => Err(ApiError::NotFound(String::new())),
        },
        Operation::Create | Operation::Update => {
            let mut role: R = areq.storage.get_json(&key).await?.unwrap_or_default();
            role.apply(&areq.req.data)?;
            areq.storage.put_json(&key, &role).await?;
            Ok(no_content())
        }
        Operation::Delete => {
            areq.storage.delete(&key).await?;
            Ok(no_content())
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
