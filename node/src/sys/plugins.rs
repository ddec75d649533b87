//! `sys/plugins/catalog[/<type>[/<name>]]`: the engines and auth methods built into Coffer, in
//! Vault's catalog shapes. There are no external plugins: registering one is refused.

use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use serde_json::{json, Value};

/// Catalog types and their built-in plugins (aliases such as `kv-v2` are not catalog entries,
/// as in Vault; cubbyhole, system and token are core mounts, not plugins).
fn builtins(kind: &str) -> Option<&'static [&'static str]> {
    match kind {
        "auth" => Some(crate::auth::AUTH_TYPES),
        "secret" => Some(&["database", "kv", "pki", "transit"]),
        "database" => Some(&["postgresql-database-plugin"]),
        _ => None,
    }
}

const TYPES: [&str; 3] = ["auth", "database", "secret"];

fn version() -> String {
    format!("v{}+builtin.coffer", crate::core::VERSION)
}

fn sorted(kind: &str) -> Vec<&'static str> {
    let mut names = builtins(kind).unwrap_or_default().to_vec();
    names.sort_unstable();
    names
}

/// `rel` is the path after `sys/`.
pub fn handle(req: &Request, rel: &str) -> Result<Option<Response>, ApiError> {
    let rest = rel
        .strip_prefix("plugins/catalog")
        .filter(|r| r.is_empty() || r.starts_with('/'))
        .ok_or_else(|| ApiError::no_route(&req.path))?
        .trim_matches('/');
    let mut parts = rest.splitn(2, '/');
    let (kind, name) = (parts.next().unwrap_or_default(), parts.next());
    match req.operation {
        Operation::Read | Operation::List => {}
        Operation::Create | Operation::Update | Operation::Delete => {
            return Err(ApiError::bad(
                "external plugins are not supported: only built-in plugins exist",
            ))
        }
        _ => return Err(ApiError::UnsupportedOperation),
    }
    if kind.is_empty() {
        let mut data = serde_json::Map::new();
        let mut detailed = Vec::new();
        for kind in TYPES {
            let names = sorted(kind);
            for name in &names {
                detailed.push(json!({
                    "builtin": true,
                    "deprecation_status": "supported",
                    "name": name,
                    "type": kind,
                    "version": version(),
                }));
            }
            data.insert(kind.into(), json!(names));
        }
        data.insert("detailed".into(), detailed.into());
        return Ok(Some(Response::data(Value::Object(data))));
    }
    let names =
        builtins(kind).ok_or_else(|| ApiError::bad(format!("invalid plugin type {kind:?}")))?;
    match name {
        None => Ok(Some(Response::data(json!({ "keys": sorted(kind) })))),
        Some(name) if req.operation == Operation::Read => {
            if !names.contains(&name) {
                return Err(ApiError::NotFound(String::new()));
            }
            Ok(Some(Response::data(json!({
                "args": [],
                "builtin": true,
                "command": "",
                "deprecation_status": "supported",
                "name": name,
                "sha256": "",
                "version": version(),
            }))))
        }
        Some(_) => Err(ApiError::UnsupportedOperation),
    }
}
