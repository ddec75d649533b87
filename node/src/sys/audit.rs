//! `sys/audit` (list, enable, disable audit devices) and `sys/audit-hash/<path>`.

use crate::audit::{AuditDeviceEntry, AuditTable, AUDIT_TABLE_PATH};
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use std::collections::BTreeMap;

fn text(req: &Request, key: &str) -> String {
    match req.data.get(key) {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => String::new(),
    }
}

async fn load(core: &Core) -> Result<AuditTable, ApiError> {
    Ok(core
        .view("")
        .get_json(AUDIT_TABLE_PATH)
        .await?
        .unwrap_or_default())
}

/// `sys/audit` and `sys/audit/<path>`.
pub async fn handle(
    core: &Core,
    active: &ActiveState,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    let path = rel
        .strip_prefix("audit")
        .unwrap_or_default()
        .trim_matches('/');
    if path.is_empty() {
        if req.operation != Operation::Read {
            return Err(ApiError::UnsupportedOperation);
        }
        let table = load(core).await?;
        let listing: serde_json::Map<_, _> = table
            .entries
            .iter()
            .map(|e| (e.path.clone(), e.describe()))
            .collect();
        return Ok(Some(super::legacy(serde_json::Value::Object(listing))));
    }
    let path = crate::audit::table::normalize(path);
    let _change = active.audit.change().await;
    let mut table = load(core).await?;
    match req.operation {
        Operation::Create | Operation::Update => {
            if table.get(&path).is_some() {
                return Err(ApiError::bad(format!("path already in use: {path}")));
            }
            let options: BTreeMap<String, String> = match req.data.get("options") {
                Some(serde_json::Value::Object(m)) => m
                    .iter()
                    .map(|(k, v)| {
                        let v = v.as_str().map_or_else(|| v.to_string(), str::to_string);
                        (k.clone(), v)
                    })
                    .collect(),
                None | Some(serde_json::Value::Null) => BTreeMap::new(),
                Some(_) => return Err(ApiError::bad("options must be an object")),
            };
            let local = req
                .data
                .get("local")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false);
            let entry = AuditDeviceEntry::new(
                &path,
                &text(req, "type"),
                &text(req, "description"),
                options,
                local,
            )
            .map_err(|e| ApiError::bad(e.to_string()))?;
            crate::audit::check_device(&entry).map_err(|e| ApiError::bad(e.to_string()))?;
            table.entries.push(entry);
        }
        Operation::Delete => {
            // Vault answers 204 for a path with no device, too.
            table.entries.retain(|e| e.path != path);
        }
        _ => return Err(ApiError::UnsupportedOperation),
    }
    core.view("").put_json(AUDIT_TABLE_PATH, &table).await?;
    active.audit.reload(&table);
    Ok(None)
}

/// `sys/audit-hash/<path>`: the hash the device at `path` logs for `input`.
pub async fn hash(core: &Core, req: &Request, rel: &str) -> Result<Option<Response>, ApiError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(ApiError::UnsupportedOperation);
    }
    let path = rel.strip_prefix("audit-hash").unwrap_or_default();
    let table = load(core).await?;
    let entry = table.get(path).ok_or_else(|| {
        ApiError::bad(format!("unknown audit backend {}", path.trim_matches('/')))
    })?;
    let input = match req.data.get("input") {
        Some(serde_json::Value::String(s)) => s.clone(),
        _ => return Err(ApiError::bad("missing 'input' field")),
    };
    let hash = crate::audit::hash_value(&entry.hmac_key(), &input);
    Ok(Some(Response::data(serde_json::json!({ "hash": hash }))))
}
