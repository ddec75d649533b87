//! `sys/mounts`, `sys/remount`, `sys/auth`: list, enable, disable, tune, move mounts.

use super::{legacy, Fields};
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::mounts::{MountConfig, MountEntry};
use crate::request::{Operation, Request, Response};
use crate::router::Table;
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;
use std::sync::Arc;

/// Engine types this build can mount.
const SECRET_TYPES: &[&str] = &[
    "kv", "kv-v1", "kv-v2", "generic", "transit", "pki", "database",
];
/// Auth types this build can enable (token is built in).
const AUTH_TYPES: &[&str] = crate::auth::AUTH_TYPES;

pub async fn handle(
    core: &Arc<Core>,
    active: &ActiveState,
    req: &Request,
    rel: &str,
    table: Table,
) -> Result<Option<Response>, ApiError> {
    if rel == "remount" {
        return remount(active, req).await;
    }
    let base = if table == Table::Secrets {
        "mounts"
    } else {
        "auth"
    };
    let rest = rel.strip_prefix(base).unwrap_or("").trim_start_matches('/');
    if rest.is_empty() {
        return match req.operation {
            Operation::Read => Ok(Some(list(active, table))),
            _ => Err(ApiError::UnsupportedOperation),
        };
    }
    if let Some(path) = rest.strip_suffix("/tune") {
        return tune(core, active, req, table, path).await;
    }
    match req.operation {
        Operation::Read => {
            let entry = active
                .mounts
                .get(table, rest)
                .ok_or_else(|| ApiError::bad(format!("No mount found at path {rest}")))?;
            Ok(Some(legacy(entry_json(&entry))))
        }
        Operation::Create | Operation::Update => enable(active, req, table, rest).await,
        Operation::Delete => {
            let entry = active.mounts.get(table, rest);
            if table == Table::Auth && entry.is_some_and(|e| e.kind != "token") {
                // Disabling an auth method logs out everyone who logged in through it.
                let prefix = format!("auth/{}", crate::router::normalize_path(rest));
                active.tokens.revoke_by_path_prefix(&prefix).await?;
            }
            active.mounts.disable(table, rest).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

fn effective_ttl(configured: u64, system: u64) -> u64 {
    if configured == 0 {
        system
    } else {
        configured
    }
}

pub(super) fn entry_json(e: &MountEntry) -> Value {
    let mut shown = json!({
        "accessor": e.accessor,
        "config": {
            "default_lease_ttl": e.config.default_lease_ttl,
            "max_lease_ttl": e.config.max_lease_ttl,
            "force_no_cache": e.config.force_no_cache,
        },
        "description": e.description,
        "external_entropy_access": e.external_entropy_access,
        "local": e.local,
        "options": if e.options.is_empty() && e.kind != "kv" { Value::Null } else { json!(e.options) },
        "plugin_version": "",
        "running_plugin_version": format!("v{}+builtin.coffer", crate::core::VERSION),
        "running_sha256": "",
        "seal_wrap": e.seal_wrap,
        "type": e.kind,
        "uuid": e.uuid,
    });
    for (name, value) in e.config.optional_fields() {
        shown["config"][name] = value;
    }
    shown
}

/// The tunables Vault takes both in a mount's `config` and in a tune's body; `None` leaves a
/// field as it is. `listing_visibility` is `""`, `unauth` or `hidden`.
fn read_tunables(f: &Fields<'_>, config: &mut MountConfig) -> Result<(), ApiError> {
    let lists: [(&str, &mut Vec<String>); 4] = [
        (
            "audit_non_hmac_request_keys",
            &mut config.audit_non_hmac_request_keys,
        ),
        (
            "audit_non_hmac_response_keys",
            &mut config.audit_non_hmac_response_keys,
        ),
        (
            "passthrough_request_headers",
            &mut config.passthrough_request_headers,
        ),
        (
            "allowed_response_headers",
            &mut config.allowed_response_headers,
        ),
    ];
    for (name, field) in lists {
        if let Some(list) = f.list_opt(name)? {
            *field = list;
        }
    }
    if let Some(visibility) = f.str_opt("listing_visibility")? {
        if !matches!(visibility.as_str(), "" | "unauth" | "hidden") {
            return Err(ApiError::bad(format!(
                "invalid listing_visibility {visibility}"
            )));
        }
        config.listing_visibility = visibility;
    }
    Ok(())
}

fn list(active: &ActiveState, table: Table) -> Response {
    let mut data = Map::new();
    for e in active.mounts.entries(table) {
        let mut shown = entry_json(&e);
        if table == Table::Auth {
            shown["config"]["token_type"] = json!("default-service");
        }
        data.insert(e.path.clone(), shown);
    }
    legacy(Value::Object(data))
}

fn parse_config(f: &Fields<'_>) -> Result<MountConfig, ApiError> {
    let mut config = MountConfig::default();
    if let Some(Value::Object(c)) = f.0.get("config") {
        let cf = Fields(c);
        config.default_lease_ttl = cf.secs_opt("default_lease_ttl")?.unwrap_or(0);
        config.max_lease_ttl = cf.secs_opt("max_lease_ttl")?.unwrap_or(0);
        config.force_no_cache = cf.bool_or("force_no_cache", false)?;
        read_tunables(&cf, &mut config)?;
    } else if f.0.get("config").is_some_and(|c| !c.is_null()) {
        return Err(ApiError::bad("config: expected an object"));
    }
    Ok(config)
}

fn parse_options(v: Option<&Value>) -> Result<BTreeMap<String, String>, ApiError> {
    match v {
        None | Some(Value::Null) => Ok(BTreeMap::new()),
        Some(Value::Object(m)) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                Value::Number(n) => Ok((k.clone(), n.to_string())),
                _ => Err(ApiError::bad("options: values must be strings")),
            })
            .collect(),
        Some(_) => Err(ApiError::bad("options: expected a map of strings")),
    }
}

async fn enable(
    active: &ActiveState,
    req: &Request,
    table: Table,
    path: &str,
) -> Result<Option<Response>, ApiError> {
    let f = Fields(&req.data);
    let mut kind = f.str_req("type")?;
    let config = parse_config(&f)?;
    let mut options = parse_options(req.data.get("options"))?;
    let known = if table == Table::Secrets {
        SECRET_TYPES
    } else {
        AUTH_TYPES
    };
    if !known.contains(&kind.as_str()) {
        return Err(ApiError::bad(format!(
            "plugin not found in the catalog: {kind}"
        )));
    }
    match kind.as_str() {
        "kv-v2" => {
            kind = "kv".into();
            options.insert("version".into(), "2".into());
        }
        "kv-v1" | "generic" => kind = "kv".into(),
        _ => {}
    }
    if kind == "kv" {
        let version = options
            .entry("version".into())
            .or_insert_with(|| "1".into());
        if version != "1" && version != "2" {
            return Err(ApiError::bad(format!("invalid KV version {version:?}")));
        }
    }
    let description = f.str_opt("description")?.unwrap_or_default();
    active
        .mounts
        .enable(table, path, &kind, &description, config, options)
        .await?;
    Ok(None)
}

async fn tune(
    core: &Core,
    active: &ActiveState,
    req: &Request,
    table: Table,
    path: &str,
) -> Result<Option<Response>, ApiError> {
    let entry = active
        .mounts
        .get(table, path)
        .ok_or_else(|| ApiError::bad(format!("cannot fetch mount configuration for {path}")))?;
    match req.operation {
        Operation::Read => {
            let sys = &core.config;
            let mut data = json!({
                "default_lease_ttl": effective_ttl(entry.config.default_lease_ttl, sys.default_lease_ttl_secs),
                "max_lease_ttl": effective_ttl(entry.config.max_lease_ttl, sys.max_lease_ttl_secs),
                "force_no_cache": entry.config.force_no_cache,
                "description": entry.description,
                "options": entry.options,
            });
            if table == Table::Auth {
                data["token_type"] = json!("default-service");
            }
            for (name, value) in entry.config.optional_fields() {
                data[name] = value;
            }
            Ok(Some(legacy(data)))
        }
        Operation::Create | Operation::Update => {
            let f = Fields(&req.data);
            let default_ttl = f.secs_opt("default_lease_ttl")?;
            let max_ttl = f.secs_opt("max_lease_ttl")?;
            let description = f.str_opt("description")?;
            let options = parse_options(req.data.get("options"))?;
            if options.get("version").is_some_and(|v| v != "1" && v != "2") {
                return Err(ApiError::bad("invalid KV version"));
            }

            active
                .mounts
                .tune(table, path, |e| {
                    if let Some(t) = default_ttl {
                        e.config.default_lease_ttl = t;
                    }
                    if let Some(t) = max_ttl {
                        e.config.max_lease_ttl = t;
                    }
                    if let Some(d) = description {
                        e.description = d;
                    }
                    e.options.extend(options);
                    read_tunables(&f, &mut e.config)
                })
                .await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}

async fn remount(active: &ActiveState, req: &Request) -> Result<Option<Response>, ApiError> {
    if !matches!(req.operation, Operation::Create | Operation::Update) {
        return Err(ApiError::UnsupportedOperation);
    }
    let f = Fields(&req.data);
    let (from, to) = (f.str_req("from")?, f.str_req("to")?);
    let (table, from, to) = match (from.strip_prefix("auth/"), to.strip_prefix("auth/")) {
        (Some(a), Some(b)) => (Table::Auth, a.to_string(), b.to_string()),
        (None, None) => (Table::Secrets, from, to),
        _ => {
            return Err(ApiError::bad(
                "cannot remount between secrets and auth mounts",
            ))
        }
    };
    active.mounts.remount(table, &from, &to).await?;
    Ok(Some(legacy(json!({ "migration_id": crate::ids::uuid() }))))
}
