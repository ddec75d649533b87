//! `auth/token/*`: create, lookup, renew, revoke, roles — Vault's token auth method.

use crate::clock::unix_now_ms;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::fields::{boolean, secs, string_list, unsigned};
use crate::request::{Operation, Request, Response};
use crate::token::{token_hash, TokenEntry, TokenRole, TokenStore};
use serde_json::{json, Map, Value};
use std::collections::BTreeMap;

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
        "create" if write => create(&call, None, false).await,
        "create-orphan" if write => create(&call, None, true).await,
        p if write && p.starts_with("create/") => {
            let role = read_role(&call, &p["create/".len()..])
                .await?
                .ok_or_else(|| ApiError::bad("unknown role"))?;
            create(&call, Some(role), false).await
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

/// The options of a create call, parsed and validated before anything is stored.
struct CreateOptions {
    id: Option<String>,
    policies: Option<Vec<String>>,
    meta: BTreeMap<String, String>,
    no_parent: bool,
    no_default_policy: bool,
    renewable: bool,
    ttl: u64,
    explicit_max_ttl: u64,
    period: u64,
    num_uses: u64,
    display_name: String,
}

fn parse_create(data: &Map<String, Value>) -> Result<CreateOptions, ApiError> {
    let get = |k: &str| data.get(k).unwrap_or(&Value::Null);
    let meta = match get("meta") {
        Value::Null => BTreeMap::new(),
        Value::Object(m) => m
            .iter()
            .map(|(k, v)| match v {
                Value::String(s) => Ok((k.clone(), s.clone())),
                _ => Err(ApiError::bad("meta: values must be strings")),
            })
            .collect::<Result<_, _>>()?,
        _ => return Err(ApiError::bad("meta: expected a map of strings")),
    };
    let policies = match get("policies") {
        Value::Null => None,
        v => Some(string_list(v, "policies")?),
    };
    if let Some(t) = data.get("type").and_then(Value::as_str) {
        if t != "service" && t != "default" {
            return Err(ApiError::bad(format!("unsupported token type {t:?}")));
        }
    }
    Ok(CreateOptions {
        id: data.get("id").and_then(Value::as_str).map(str::to_string),
        policies,
        meta,
        no_parent: boolean(get("no_parent"), "no_parent")?,
        no_default_policy: boolean(get("no_default_policy"), "no_default_policy")?,
        renewable: match get("renewable") {
            Value::Null => true,
            v => boolean(v, "renewable")?,
        },
        ttl: secs(get("ttl"), "ttl")?.max(secs(get("lease"), "lease")?),
        explicit_max_ttl: secs(get("explicit_max_ttl"), "explicit_max_ttl")?,
        period: secs(get("period"), "period")?,
        num_uses: unsigned(get("num_uses"), "num_uses")?,
        display_name: get("display_name").as_str().unwrap_or_default().to_string(),
    })
}

/// Policies of the new token: the requested ones (or the parent's), limited by the parent unless
/// the parent is root, limited by the role, plus `default` unless opted out.
fn resolve_policies(
    caller: &TokenEntry,
    opts: &CreateOptions,
    role: Option<&TokenRole>,
) -> Result<Vec<String>, ApiError> {
    let mut policies: Vec<String> = match &opts.policies {
        Some(p) => p.iter().map(|s| s.to_lowercase()).collect(),
        None => match role {
            Some(r) if !r.allowed_policies.is_empty() => r.allowed_policies.clone(),
            _ => caller.policies.clone(),
        },
    };
    if let Some(role) = role {
        if !role.allowed_policies.is_empty()
            && policies
                .iter()
                .any(|p| p != "default" && !role.allowed_policies.contains(p))
        {
            return Err(ApiError::bad(
                "token policies must be a subset of the role's allowed policies",
            ));
        }
        if policies
            .iter()
            .any(|p| role.disallowed_policies.contains(p))
        {
            return Err(ApiError::bad(
                "token policies include a policy the role disallows",
            ));
        }
    } else if !caller.is_root() {
        if let Some(p) = policies
            .iter()
            .find(|p| *p != "default" && !caller.policies.contains(p))
        {
            return Err(ApiError::bad(format!(
                "child policies must be subset of parent (missing {p})"
            )));
        }
    }
    let no_default = opts.no_default_policy || role.is_some_and(|r| r.token_no_default_policy);
    if !no_default && !policies.iter().any(|p| p == "root" || p == "default") {
        policies.push("default".into());
    }
    if no_default {
        policies.retain(|p| p != "default");
    }
    policies.sort();
    policies.dedup();
    Ok(policies)
}

async fn create(
    call: &TokenCall<'_>,
    role: Option<TokenRole>,
    orphan_endpoint: bool,
) -> Result<Option<Response>, ApiError> {
    let opts = parse_create(&call.req.data)?;
    let caller = call.caller;
    if opts.id.is_some() && !caller.is_root() {
        return Err(ApiError::bad(
            "root or sudo privileges required to specify token id",
        ));
    }
    let policies = resolve_policies(caller, &opts, role.as_ref())?;
    let orphan = orphan_endpoint || opts.no_parent || role.as_ref().is_some_and(|r| r.orphan);
    if opts.no_parent && !caller.is_root() && !orphan_endpoint {
        return Err(ApiError::bad(
            "root or sudo privileges required to create orphan token",
        ));
    }
    let now = unix_now_ms();
    let sys_max = call.core.config.max_lease_ttl_secs;
    let period = role.as_ref().map_or(0, |r| r.token_period).max(opts.period);
    let explicit_max = match role.as_ref().map_or(0, |r| r.token_explicit_max_ttl) {
        0 => opts.explicit_max_ttl,
        r if opts.explicit_max_ttl == 0 => r,
        r => r.min(opts.explicit_max_ttl),
    };
    let requested = if opts.ttl > 0 {
        opts.ttl
    } else {
        role.as_ref().map_or(0, |r| r.token_ttl)
    };
    let mut ttl = if period > 0 {
        period
    } else if requested > 0 {
        requested.min(sys_max)
    } else if policies.iter().any(|p| p == "root") && explicit_max == 0 {
        0 // a root token created without a TTL never expires, as in Vault
    } else {
        call.core.config.default_lease_ttl_secs.min(sys_max)
    };
    if explicit_max > 0 && (ttl == 0 || ttl > explicit_max) {
        ttl = explicit_max;
    }
    let id = opts.id.clone().unwrap_or_else(TokenStore::generate_id);
    if call.active.tokens.lookup(&id).await?.is_some() {
        return Err(ApiError::bad("cannot create a token with a duplicate ID"));
    }
    let role_name = role.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    let entry = TokenEntry {
        id,
        accessor: crate::ids::base62(24),
        policies,
        parent: if orphan {
            String::new()
        } else {
            token_hash(&caller.id)
        },
        meta: opts.meta,
        display_name: if opts.display_name.is_empty() {
            "token".into()
        } else {
            format!("token-{}", opts.display_name)
        },
        num_uses: if opts.num_uses > 0 {
            opts.num_uses
        } else {
            role.as_ref().map_or(0, |r| r.token_num_uses)
        },
        creation_ms: now,
        creation_ttl: ttl,
        expire_at_ms: if ttl == 0 { 0 } else { now + 1000 * ttl as i64 },
        explicit_max_ttl: explicit_max,
        period,
        renewable: opts.renewable && role.as_ref().is_none_or(|r| r.renewable) && ttl > 0,
        path: match (role_name.as_str(), orphan_endpoint) {
            ("", true) => "auth/token/create-orphan".into(),
            ("", false) => "auth/token/create".into(),
            (role, _) => format!("auth/token/create/{role}"),
        },
        role: role_name,
        orphan,
        bound_cidrs: Vec::new(),
        max_ttl: 0,
    };
    call.active.tokens.store(&entry).await?;
    Ok(Some(Response {
        auth: Some(entry.auth_info(now)),
        ..Default::default()
    }))
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
    let mut ttl = if entry.period > 0 {
        entry.period
    } else if increment > 0 {
        increment
    } else {
        entry.creation_ttl
    };
    ttl = ttl.min(call.core.config.max_lease_ttl_secs);
    let mut expire = now + 1000 * ttl as i64;
    if entry.explicit_max_ttl > 0 {
        expire = expire.min(entry.creation_ms + 1000 * entry.explicit_max_ttl as i64);
    }
    if entry.max_ttl > 0 {
        // A login's token renews up to its method's max TTL, counted from its creation.
        expire = expire.min(entry.creation_ms + 1000 * entry.max_ttl as i64);
    }
    entry.expire_at_ms = expire;
    tokens.update(&entry).await?;
    Ok(Some(Response {
        auth: Some(entry.auth_info(now)),
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
