//! `sys/leases/*`: lookup, list, renew, revoke, revoke-prefix, revoke-force, tidy, over both
//! kinds of lease.
//!
//! A secret lease (an engine's dynamic secret, `pki/issue/web/<random>`) is a record of the
//! lease manager (`crate::lease`), which renews and revokes it through its engine. A token's
//! lease is the token seen by its lease id `<creation path>/<accessor>` (`auth/userpass/login/
//! alice/<accessor>`, `auth/token/create/<accessor>`): never the token itself. There is no
//! second record to keep in step: revoking the lease revokes the token (and its children), and
//! revoking a token removes its lease. Each request tries the secret lease first.

use crate::auth::token::TokenCall;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::token::TokenEntry;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// The lease id of a token.
pub fn lease_id(entry: &TokenEntry) -> String {
    let path = if entry.path.is_empty() {
        "auth/token/create"
    } else {
        entry.path.trim_end_matches('/')
    };
    format!("{path}/{}", entry.accessor)
}

/// Every live token with its lease id.
async fn all(active: &ActiveState) -> Result<Vec<(String, TokenEntry)>, ApiError> {
    let mut out = Vec::new();
    for accessor in active.tokens.accessors().await? {
        if let Some(entry) = active.tokens.lookup_accessor(&accessor).await? {
            out.push((lease_id(&entry), entry));
        }
    }
    Ok(out)
}

/// The token behind `lease_id`, if the id names a live one.
async fn find(active: &ActiveState, lease_id: &str) -> Result<Option<TokenEntry>, ApiError> {
    let Some((_, accessor)) = lease_id.rsplit_once('/') else {
        return Ok(None);
    };
    let entry = active.tokens.lookup_accessor(accessor).await?;
    Ok(entry.filter(|e| self::lease_id(e) == lease_id))
}

fn lease_field(req: &Request, rest: &str) -> Result<String, ApiError> {
    let from_body = req
        .data
        .get("lease_id")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let id = if from_body.is_empty() {
        rest
    } else {
        from_body
    };
    if id.is_empty() {
        return Err(ApiError::bad("lease_id must be specified"));
    }
    Ok(id.to_string())
}

fn invalid_lease() -> ApiError {
    ApiError::bad("invalid lease")
}

/// Dispatch `sys/leases/...` (`rel` starts with `leases`), and the legacy `sys/renew`,
/// `sys/revoke`, `sys/revoke-prefix`.
pub async fn handle(
    core: &Core,
    active: &ActiveState,
    caller: &TokenEntry,
    req: &Request,
    rel: &str,
) -> Result<Option<Response>, ApiError> {
    let rel = rel.strip_prefix("leases/").unwrap_or(rel);
    let (verb, rest) = rel.split_once('/').unwrap_or((rel, ""));
    let write = matches!(req.operation, Operation::Create | Operation::Update);
    match (verb, req.operation) {
        ("lookup", Operation::List) => list(active, rest).await,
        ("lookup", _) if write => {
            let id = lease_field(req, rest)?;
            match active.leases.lookup(&id).await? {
                Some(data) => Ok(Some(Response::data(data))),
                None => lookup(active, &id).await,
            }
        }
        ("renew", _) if write => {
            let id = lease_field(req, rest)?;
            if active.leases.exists(&id).await? {
                let increment = match req.data.get("increment") {
                    None | Some(Value::Null) => 0,
                    Some(v) => crate::fields::secs(v, "increment")?,
                };
                return Ok(Some(active.leases.renew(&id, increment).await?));
            }
            renew(core, active, caller, req, &id).await
        }
        ("revoke", _) if write => {
            let id = lease_field(req, rest)?;
            if active.leases.exists(&id).await? {
                // Vault's `sync` (default true): answer once revoked; false queues it (202).
                if crate::fields::Fields(&req.data).bool_or("sync", true)? {
                    active.leases.revoke(&id, false).await?;
                    return Ok(None);
                }
                active.leases.revoke_later(&id).await?;
                return Ok(Some(Response::raw_status(202, Value::Null)));
            }
            if let Some(entry) = find(active, &id).await? {
                active.tokens.revoke(&entry.id).await?;
            }
            Ok(None)
        }
        ("revoke-prefix" | "revoke-force", _) if write => {
            let prefix = rest.trim_end_matches('/');
            if prefix.is_empty() {
                return Err(ApiError::bad("prefix must be specified"));
            }
            active
                .leases
                .revoke_prefix(prefix, verb == "revoke-force")
                .await?;
            for (id, entry) in all(active).await? {
                if id == prefix || id.starts_with(&format!("{prefix}/")) {
                    active.tokens.revoke(&entry.id).await?;
                }
            }
            Ok(None)
        }
        ("tidy", _) if write => tidy(active).await,
        _ => Err(crate::error::ApiError::no_route(&req.path)),
    }
}

async fn lookup(active: &ActiveState, lease_id: &str) -> Result<Option<Response>, ApiError> {
    let entry = find(active, lease_id).await?.ok_or_else(invalid_lease)?;
    let now = crate::clock::unix_now_ms();
    let token = entry.lookup_data(now, false);
    Ok(Some(Response::data(json!({
        "id": lease_id,
        "issue_time": token["issue_time"],
        "expire_time": token["expire_time"],
        "last_renewal": Value::Null,
        "renewable": entry.renewable && entry.expire_at_ms != 0,
        "ttl": token["ttl"],
    }))))
}

/// `LIST sys/leases/lookup/<prefix>`: the next path segment of every lease under the prefix
/// (folders end in `/`), as Vault lists.
async fn list(active: &ActiveState, prefix: &str) -> Result<Option<Response>, ApiError> {
    let prefix = if prefix.is_empty() || prefix.ends_with('/') {
        prefix.to_string()
    } else {
        format!("{prefix}/")
    };
    let mut keys = BTreeSet::new();
    let tokens = all(active).await?.into_iter().map(|(id, _)| id);
    for id in tokens.chain(active.leases.ids_under("").await?) {
        if let Some(rest) = id.strip_prefix(&prefix) {
            match rest.split_once('/') {
                Some((folder, _)) => keys.insert(format!("{folder}/")),
                None => keys.insert(rest.to_string()),
            };
        }
    }
    if keys.is_empty() {
        return Err(ApiError::NotFound(String::new()));
    }
    Ok(Some(Response::data(json!({ "keys": keys }))))
}

async fn renew(
    core: &Core,
    active: &ActiveState,
    caller: &TokenEntry,
    req: &Request,
    lease_id: &str,
) -> Result<Option<Response>, ApiError> {
    let entry = find(active, lease_id).await?.ok_or_else(invalid_lease)?;
    let mut body = json!({ "token": entry.id });
    if let Some(inc) = req.data.get("increment") {
        body["increment"] = inc.clone();
    }
    let inner = Request::new(Operation::Update, "auth/token/renew").with_data(body);
    let call = TokenCall {
        core,
        active,
        caller,
        req: &inner,
    };
    let renewed = crate::auth::token::handle(call, "renew").await?;
    let auth = renewed.and_then(|r| r.auth).ok_or_else(invalid_lease)?;
    Ok(Some(Response {
        lease_id: lease_id.to_string(),
        lease_duration: auth.lease_duration,
        renewable: auth.renewable,
        ..Default::default()
    }))
}

/// Drop accessor records whose token is gone and revoke expired tokens (a lookup of an
/// expired token revokes it).
async fn tidy(active: &ActiveState) -> Result<Option<Response>, ApiError> {
    let mut removed = 0;
    for accessor in active.tokens.accessors().await? {
        if active.tokens.tidy_accessor(&accessor).await? {
            removed += 1;
        }
    }
    let orphaned = active.leases.tidy(&active.tokens).await?;
    tracing::info!(removed, orphaned, "lease tidy done");
    Ok(Some(Response::raw_status(
        202,
        json!({"warnings": ["Tidy operation successfully started. Any information from the operation will be printed to Vault's server logs."]}),
    )))
}
