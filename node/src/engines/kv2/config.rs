//! `config`: the mount-wide KV v2 settings (`max_versions`, `cas_required`,
//! `delete_version_after`).

use super::input::{field_bool, field_duration, field_u32};
use super::load_config;
use super::model::config_json;
use crate::engines::MountRequest;
use crate::error::ApiError;
use crate::request::{Operation, Response};

/// Storage key of the mount's [`super::model::KvConfig`].
pub const CONFIG_KEY: &str = "config";

pub(super) async fn handle(
    mreq: &MountRequest<'_>,
    op: Operation,
) -> Result<Option<Response>, ApiError> {
    match op {
        Operation::Read => {
            let cfg = load_config(mreq.storage).await?;
            Ok(Some(Response::data(config_json(&cfg))))
        }
        Operation::Create | Operation::Update => write(mreq).await,
        _ => Err(ApiError::UnsupportedOperation),
    }
}

/// Update the fields present; a negative `delete_version_after` disables it for every key,
/// zero clears it. A body with none of the fields writes nothing.
async fn write(mreq: &MountRequest<'_>) -> Result<Option<Response>, ApiError> {
    let body = &mreq.req.data;
    let max_versions = field_u32(body, "max_versions")?;
    let cas_required = field_bool(body, "cas_required")?;
    let dva = field_duration(body, "delete_version_after")?;
    if max_versions.is_none() && cas_required.is_none() && dva.is_none() {
        return Ok(None);
    }
    let mut cfg = load_config(mreq.storage).await?;
    if let Some(m) = max_versions {
        cfg.max_versions = m;
    }
    if let Some(c) = cas_required {
        cfg.cas_required = c;
    }
    if let Some(d) = dva {
        cfg.delete_version_after_secs = d.max(-1);
    }
    mreq.storage.put_json(CONFIG_KEY, &cfg).await?;
    Ok(None)
}
