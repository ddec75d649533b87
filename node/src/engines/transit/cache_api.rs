//! `cache-config`: Vault's setting for the size of the mount's in-memory key cache. Coffer keeps
//! no key cache (each request reads its key through the barrier, so a key never outlives a seal
//! or a leader change in memory); it stores and reports the size so clients that configure it
//! work unchanged, with Vault's rules (0 means unlimited, otherwise at least 10).

use super::batch::int;
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::{Operation, Response};
use serde::{Deserialize, Serialize};
use serde_json::json;

/// Where the setting lives in the mount's storage (Vault's path).
const PATH: &str = "config/cache";
/// Vault's smallest non-zero size.
const MIN_SIZE: i64 = 10;

#[derive(Serialize, Deserialize, Default)]
struct CacheConfig {
    size: i64,
}

/// `cache-config`: read (GET) or write (POST `size`).
pub async fn route(m: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    match m.req.operation {
        Operation::Read => {
            let config: CacheConfig = m.storage.get_json(PATH).await?.unwrap_or_default();
            Ok(Some(Response::data(json!({ "size": config.size }))))
        }
        Operation::Create | Operation::Update => {
            let size = int(&m.req.data, "size").map_err(ApiError::BadRequest)?;
            if size != 0 && size < MIN_SIZE {
                return Err(ApiError::bad(format!(
                    "size must be 0 or a value greater or equal to {MIN_SIZE}"
                )));
            }
            m.storage.put_json(PATH, &CacheConfig { size }).await?;
            Ok(Some(Response::data(json!({ "size": size }))))
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
