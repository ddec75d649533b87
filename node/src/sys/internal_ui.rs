//! `sys/internal/ui/*`: what Vault's UI (and CLI's `kv` preflight) asks before it shows a page.
//!
//! - `mounts` needs no token (`sys_paths`' `unauthenticated`) but reads one when given: without
//!   one it lists only mounts tuned `listing_visibility = "unauth"`, with type, description and
//!   options; with one, every mount the token has some access under (`Acl::has_mount_access`),
//!   in full. An unknown token is refused.
//! - `mounts/<path>`: the mount serving `<path>`, only for a token with some access under it;
//!   an unknown path answers the same 403 so the endpoint cannot enumerate mounts.
//! - `resultant-acl`: the caller's merged policies (`Acl::resultant`); an ordinary
//!   authenticated path, which the `default` policy grants.

use super::mounts::entry_json;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::policy::Acl;
use crate::request::{Request, Response};
use crate::router::Table;
use crate::token::TokenEntry;
use serde_json::{json, Map, Value};
use std::sync::Arc;

/// `sys/internal/ui/mounts` (no token required).
pub async fn mounts(core: &Arc<Core>, req: &Request) -> Result<Option<Response>, ApiError> {
    let active = core.current_active().await?;
    let acl = match &req.token {
        Some(_) => Some(token_acl(&active, req).await?),
        None => None,
    };
    let shown = |prefix: &str, e: &MountEntry| match &acl {
        Some(acl) => {
            e.config.listing_visibility == "unauth"
                || acl.has_mount_access(&format!("{prefix}{}", e.path))
        }
        None => e.config.listing_visibility == "unauth",
    };
    let mut data = Map::new();
    for (key, table, prefix) in [
        ("secret", Table::Secrets, ""),
        ("auth", Table::Auth, "auth/"),
    ] {
        let mut listed = Map::new();
        for e in active
            .mounts
            .entries(table)
            .iter()
            .filter(|e| shown(prefix, e))
        {
            let info = if acl.is_some() {
                entry_json(e)
            } else {
                json!({"type": e.kind, "description": e.description, "options": e.options})
            };
            listed.insert(e.path.clone(), info);
        }
        data.insert(key.into(), Value::Object(listed));
    }
    Ok(Some(Response::data(Value::Object(data))))
}

/// `sys/internal/ui/mounts/<path>` (a token with some access under the mount required).
pub async fn mount(
    core: &Arc<Core>,
    req: &Request,
    path: &str,
) -> Result<Option<Response>, ApiError> {
    if path.is_empty() {
        return Err(ApiError::bad("path not set"));
    }
    let active = core.current_active().await?;
    let acl = token_acl(&active, req).await?;
    let denied = || {
        ApiError::Forbidden(format!(
            "preflight capability check returned 403, please ensure client's policies grant access to path {:?}",
            sanitize(path)
        ))
    };
    let (table, prefix, inner) = match path.strip_prefix("auth/") {
        Some(inner) => (Table::Auth, "auth/", inner),
        None => (Table::Secrets, "", path),
    };
    let (entry, _) = active.mounts.route(table, inner).ok_or_else(denied)?;
    if !acl.has_mount_access(&format!("{prefix}{}", entry.path)) {
        return Err(denied());
    }
    let mut info = entry_json(&entry);
    info["path"] = json!(entry.path);
    Ok(Some(Response::data(info)))
}

/// `sys/internal/ui/resultant-acl` for the (already authenticated) caller.
pub async fn resultant_acl(
    active: &ActiveState,
    caller: &TokenEntry,
) -> Result<Option<Response>, ApiError> {
    let acl = crate::identity::acl_for(&active.policies, &active.identity, caller).await?;
    Ok(Some(Response::data(acl.resultant())))
}

/// The ACL of the request's token, which must be a live token usable from this address.
async fn token_acl(active: &ActiveState, req: &Request) -> Result<Acl, ApiError> {
    let token = req.token.as_deref().ok_or(ApiError::PermissionDenied)?;
    let entry = active
        .tokens
        .lookup(token)
        .await?
        .filter(|t| t.allows_remote(req.remote_addr.as_deref()))
        .ok_or(ApiError::PermissionDenied)?;
    crate::identity::acl_for(&active.policies, &active.identity, &entry).await
}

/// A mount-style path as Vault quotes it back: no leading `/`, one trailing `/`.
fn sanitize(path: &str) -> String {
    let path = path.trim_start_matches('/');
    if path.ends_with('/') {
        path.to_owned()
    } else {
        format!("{path}/")
    }
}
