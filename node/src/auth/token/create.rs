//! `auth/token/create`, `create-orphan` and `create/<role>`: parse the call, let
//! `creation_rules` decide policies and orphan status and `lifetime` the TTL, then store.

use super::TokenCall;
use crate::clock::unix_now_ms;
use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::fields::{boolean, secs, string_list, unsigned};
use crate::request::Response;
use crate::router::Table;
use crate::token::creation_rules::{self, Ask, Creator};
use crate::token::lifetime::{self, Limits};
use crate::token::{token_hash, TokenEntry, TokenRole, TokenStore};
use serde_json::{Map, Value};
use std::collections::BTreeMap;

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
        id: data
            .get("id")
            .and_then(Value::as_str)
            .filter(|s| !s.is_empty())
            .map(str::to_string),
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

/// Whether the caller may act as root on the request's own path (root, or `sudo` there).
async fn has_sudo(call: &TokenCall<'_>) -> Result<bool, ApiError> {
    let active = call.active;
    let acl = crate::identity::acl_for(&active.policies, &active.identity, call.caller).await?;
    Ok(acl.is_root() || acl.allowed(&call.req.path, "sudo"))
}

/// The TTL limits of the auth mount a token was created under (`auth/token/...` for the token
/// store's own), within the system's.
pub(super) fn limits_for(core: &Core, active: &ActiveState, token_path: &str) -> Limits {
    let (mount_default, mount_max) = token_path
        .strip_prefix("auth/")
        .and_then(|rel| active.mounts.route(Table::Auth, rel))
        .map_or((0, 0), |(m, _)| {
            (m.config.default_lease_ttl, m.config.max_lease_ttl)
        });
    Limits::of_mount(
        mount_default,
        mount_max,
        core.config.default_lease_ttl_secs,
        core.config.max_lease_ttl_secs,
    )
}

/// The lesser of a value given in the call and the role's, where 0 means unset.
fn lesser(asked: u64, role: u64) -> u64 {
    match (asked, role) {
        (0, r) => r,
        (a, 0) => a,
        (a, r) => a.min(r),
    }
}

/// Create a token as Vault's `handleCreateCommon` does.
pub async fn create(
    call: &TokenCall<'_>,
    role: Option<TokenRole>,
    orphan_endpoint: bool,
) -> Result<Option<Response>, ApiError> {
    let opts = parse_create(&call.req.data)?;
    let caller = call.caller;
    let creator = Creator {
        policies: &caller.policies,
        sudo: has_sudo(call).await?,
        num_uses: caller.num_uses,
    };
    let ask = Ask {
        policies: opts.policies.as_deref(),
        no_default_policy: opts.no_default_policy,
        no_parent: opts.no_parent,
        orphan_endpoint,
        id: opts.id.is_some(),
        period: opts.period,
    };
    let verdict = creation_rules::decide(creator, ask, role.as_ref())
        .map_err(|r| ApiError::bad(r.to_string()))?;
    let now = unix_now_ms();
    let period = lesser(opts.period, role.as_ref().map_or(0, |r| r.token_period));
    let explicit_max = lesser(
        opts.explicit_max_ttl,
        role.as_ref().map_or(0, |r| r.token_explicit_max_ttl),
    );
    let is_root = verdict.policies.iter().any(|p| p == "root");
    let requested = if opts.ttl > 0 {
        opts.ttl
    } else {
        role.as_ref().map_or(0, |r| r.token_ttl)
    };
    let mut warnings = Vec::new();
    let (ttl, expire_at_ms) = if period > 0 || requested > 0 || !is_root {
        let limits = limits_for(call.core, call.active, &call.req.path);
        let granted = lifetime::calculate(
            limits,
            lifetime::Ask {
                ttl: requested,
                period,
                backend_max: role.as_ref().map_or(0, |r| r.token_max_ttl),
                explicit_max,
                start_ms: now,
                now_ms: now,
                ..Default::default()
            },
        )
        .map_err(|e| ApiError::bad(e.to_string()))?;
        warnings = granted.warnings;
        (granted.ttl, granted.expire_at_ms)
    } else if explicit_max > 0 {
        // Root tokens are still bound by an explicit max TTL.
        (explicit_max, lifetime::after(now, explicit_max))
    } else {
        (0, 0) // a root token created without a TTL never expires, as in Vault
    };
    if ttl == 0 && caller.expire_at_ms != 0 {
        return Err(ApiError::bad(
            "expiring root tokens cannot create non-expiring root tokens",
        ));
    }
    let id = opts.id.clone().unwrap_or_else(TokenStore::generate_id);
    if call.active.tokens.lookup(&id).await?.is_some() {
        return Err(ApiError::bad("cannot create a token with a duplicate ID"));
    }
    let role_name = role.as_ref().map(|r| r.name.clone()).unwrap_or_default();
    let entry = TokenEntry {
        id,
        accessor: crate::ids::base62(24),
        policies: verdict.policies,
        parent: if verdict.orphan {
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
        expire_at_ms,
        explicit_max_ttl: explicit_max,
        period,
        renewable: opts.renewable && role.as_ref().is_none_or(|r| r.renewable) && ttl > 0,
        path: match (role_name.as_str(), orphan_endpoint) {
            ("", true) => "auth/token/create-orphan".into(),
            ("", false) => "auth/token/create".into(),
            (role, _) => format!("auth/token/create/{role}"),
        },
        role: role_name,
        orphan: verdict.orphan,
        bound_cidrs: Vec::new(),
        max_ttl: role.as_ref().map_or(0, |r| r.token_max_ttl),
        // As in Vault, a token made by a token acting for an entity acts for it too.
        entity_id: caller.entity_id.clone(),
    };
    call.active.tokens.store(&entry).await?;
    Ok(Some(Response {
        auth: Some(entry.auth_info(now)),
        warnings,
        ..Default::default()
    }))
}
