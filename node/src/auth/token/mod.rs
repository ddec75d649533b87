//! `auth/token/*`: create, lookup, renew, revoke, roles — Vault's token auth method.
//! The create endpoints and their limits are `create.rs`; who may create which token is
//! `token::creation_rules`, how long it lives `token::lifetime`.

mod create;

use crate::clock::unix_now_ms;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::fields::secs;
use crate::request::{Operation, Request, Response};
use crate::token::{TokenEntry, TokenRole};
use serde_json::{json, Map, Value};

/// Everything a handler needs.
pub struct TokenCall<'a> {
    pub core: &'a Core,
    pub active: &'a ActiveState,
    /// The caller's own token.
    pub caller: &'a TokenEntry,
    pub req: &'a Request,
}

/// Dispatch a request under `auth/token/` (`path` is what follows that prefix).
pub async fn handle(call: TokenCall<'_>, path: &str) -> Result<Option<Response>, ApiError> {
    let op = call.req.operation;
    let write = matches!(op, Operation::Create | Operation::Update);
    match path {
        "create" if write => create::create(&call, None, false).await,
        "create-orphan" if write => create::create(&call, None, true).await,
        p if write && p.starts_with("create/") => {
            let role = read_role(&call, &p["create/".len()..])
                .await?
                .ok_or_else(|| ApiError::bad("unknown role"))?;
            create::create(&call, Some(role), false).await
        }
        "lookup" if write || op == Operation::Read => lookup(&call, token_field(&call)?).await,
        "lookup-self" => lookup(&call, call.caller.id.clone()).await,
        "lookup-accessor" if write => lookup_accessor(&call).await,
        "renew" if write => renew(&call, token_field(&call)?).await,
        "renew-self" if write => renew(&call, call.caller.id.clone()).await,
        "renew-accessor" if write => {
            let entry = by_accessor(&call).await?;
            renew(&call, entry.id).await
        }
        "revoke" if write => revoke(&call, token_field(&call)?, false).await,
        "revoke-self" if write => revoke(&call, call.caller.id.clone(), false).await,
        "revoke-orphan" if write => revoke(&call, token_field(&call)?, true).await,
        "revoke-accessor" if write => {
            let accessor = str_field(&call.req.data, "accessor")?;
            call.active.tokens.revoke_accessor(&accessor).await?;
            Ok(None)
        }
        "accessors" | "accessors/" if op == Operation::List => {
            let keys = call.active.tokens.accessors().await?;
            Ok(Some(Response::data(json!({ "keys": keys }))))
        }
        "roles" | "roles/" if op == Operation::List => list_roles(&call).await,
        p if p.starts_with("roles/") => role_op(&call, &p["roles/".len()..]).await,
        "tidy" if write => Ok(None),
        _ => Err(ApiError::UnsupportedOperation),
    }
}

fn str_field(data: &Map<String, Value>, field: &str) -> Result<String, ApiError> {
    match data.get(field) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(Value::String(_)) | None => Err(ApiError::bad(format!("missing {field}"))),
        Some(_) => Err(ApiError::bad(format!("{field}: expected a string"))),
    }
}

fn token_field(call: &TokenCall<'_>) -> Result<String, ApiError> {
    str_field(&call.req.data, "token")
}

async fn by_accessor(call: &TokenCall<'_>) -> Result<TokenEntry, ApiError> {
    let accessor = str_field(&call.req.data, "accessor")?;
    call.active
        .tokens
        .lookup_accessor(&accessor)
        .await?
        .ok_or_else(|| ApiError::bad("invalid accessor"))
}

async fn lookup(call: &TokenCall<'_>, token: String) -> Result<Option<Response>, ApiError> {
    let entry = call
        .active
        .tokens
        .lookup(&token)
        .await?
        .ok_or_else(|| ApiError::Forbidden("bad token".into()))?;
    Ok(Some(Response::data(entry.lookup_data(unix_now_ms(), true))))
}

async fn lookup_accessor(call: &TokenCall<'_>) -> Result<Option<Response>, ApiError> {
    let entry = by_accessor(call).await?;
    Ok(Some(Response::data(
        entry.lookup_data(unix_now_ms(), false),
    )))
}

async fn renew(call: &TokenCall<'_>, token: String) -> Result<Option<Response>, ApiError> {
    let tokens = &call.active.tokens;
    let mut entry = tokens
        .lookup(&token)
        .await?
        .ok_or_else(|| ApiError::bad("invalid token"))?;
    if !entry.renewable || entry.expire_at_ms == 0 {
        return Err(ApiError::bad("lease is not renewable"));
    }
    let now = unix_now_ms();
    let increment = secs(
        call.req.data.get("increment").unwrap_or(&Value::Null),
        "increment",
    )?;
    // Every renewal is bounded again by the token's mount, the system, its login's or role's
    // max and its explicit max, all counted from its creation.
    let limits = create::limits_for(call.core, call.active, &entry.path);
    let granted = crate::token::lifetime::calculate(
        limits,
        crate::token::lifetime::Ask {
            increment,
            ttl: entry.creation_ttl,
            period: entry.period,
            backend_max: entry.max_ttl,
            explicit_max: entry.explicit_max_ttl,
            start_ms: entry.creation_ms,
            now_ms: now,
        },
    )
    .map_err(|e| ApiError::bad(e.to_string()))?;
    entry.expire_at_ms = granted.expire_at_ms;
    tokens.update(&entry).await?;
    Ok(Some(Response {
        auth: Some(entry.auth_info(now)),
        warnings: granted.warnings,
        ..Default::default()
    }))
}

async fn revoke(
    call: &TokenCall<'_>,
    token: String,
    orphan: bool,
) -> Result<Option<Response>, ApiError> {
    if orphan {
        call.active.tokens.revoke_orphan(&token).await?;
    } else {
        call.active.tokens.revoke(&token).await?;
    }
    Ok(None)
}

async fn read_role(call: &TokenCall<'_>, name: &str) -> Result<Option<TokenRole>, ApiError> {
    call.active.tokens.roles_view().get_json(name).await
}

async fn list_roles(call: &TokenCall<'_>) -> Result<Option<Response>, ApiError> {
    let keys = call.active.tokens.roles_view().list("").await?;
    if keys.is_empty() {
        return Err(ApiError::NotFound(String::new()));
    }
    Ok(Some(Response::data(json!({ "keys": keys }))))
}

async fn role_op(call: &TokenCall<'_>, name: &str) -> Result<Option<Response>, ApiError> {
    if name.is_empty() || name.contains('/') {
        return Err(ApiError::bad("invalid role name"));
    }
    let view = call.active.tokens.roles_view();
    match call.req.operation {
        Operation::Read => match read_role(call, name).await? {
            Some(role) => Ok(Some(Response::data(role.to_json()))),
            None => Err(ApiError::NotFound(String::new())),
        },
        Operation::Create | Operation::Update => {
            let mut role = read_role(call, name).await?.unwrap_or(TokenRole {
                name: name.to_string(),
                renewable: true,
                ..Default::default()
            });
            role.apply(&call.req.data)?;
            view.put_json(name, &role).await?;
            Ok(None)
        }
        Operation::Delete => {
            view.delete(name).await?;
            Ok(None)
        }
        _ => Err(ApiError::UnsupportedOperation),
    }
}
