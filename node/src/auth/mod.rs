//! Auth methods mounted under `auth/<path>/` (the `core/auth` table): `userpass`, `approle`,
//! `kubernetes` and `jwt` (also enabled as type `oidc`). `auth/token/` is the token store's own backend (`token/`) and never comes here.
//!
//! A method owns the paths inside its mount and sees only its mount's `StorageView`
//! (`auth/<uuid>/`). Its login paths need no token (Vault's unauthenticated paths): the pipeline
//! asks `is_login` before it authenticates. A login yields a [`LoginGrant`]; `issue.rs` turns it
//! into an orphan token whose path is the login path.

pub mod approle;
pub use crate::cidr;
pub mod glob;
pub mod issue;
pub mod jwt;
pub mod kubernetes;
mod password;
mod stored_role;
#[cfg(test)]
mod testkit;
pub mod token;
pub mod token_params;
pub mod userpass;

use crate::core::{ActiveState, Core};
use crate::error::ApiError;
use crate::mounts::MountRequest;
use crate::request::{Operation, Request, Response};
use crate::routed::Routed;
use async_trait::async_trait;
pub use issue::{AliasGrant, LoginGrant};

/// The auth method types `sys/auth` can enable (the token method is built in).
pub const AUTH_TYPES: &[&str] = &["userpass", "approle", "kubernetes", "jwt", "oidc"];

/// What a method answers: a plain response, or a successful login to turn into a token.
pub enum Outcome {
    Reply(Option<Box<Response>>),
    Login(Box<LoginGrant>),
}

/// An auth method (a Vault "credential backend").
#[async_trait]
pub trait AuthMethod: Send + Sync {
    /// Whether `path` (inside the mount) is a login path, reachable without a token.
    fn is_login_path(&self, path: &str) -> bool;

    /// Handle one request.
    async fn handle(&self, areq: MountRequest<'_>) -> Result<Outcome, ApiError>;

    /// Whether the entry a write would make already exists (Vault's existence check): `Some(false)`
    /// → the ACL checks `create`, `Some(true)` → `update`, `None` → `update`.
    async fn exists(&self, _areq: MountRequest<'_>) -> Result<Option<bool>, ApiError> {
        Ok(None)
    }
}

fn method_for(kind: &str) -> Option<&'static dyn AuthMethod> {
    match kind {
        "userpass" => Some(&userpass::Userpass),
        "approle" => Some(&approle::AppRole),
        "kubernetes" => Some(&kubernetes::Kubernetes),
        "jwt" | "oidc" => Some(&jwt::Jwt),
        _ => None,
    }
}

/// Whether `req`, routed into an auth mount, is a login (a write to the method's login path),
/// which needs no token.
pub fn is_login(routed: &Routed, req: &Request) -> bool {
    matches!(req.operation, Operation::Create | Operation::Update)
        && method_for(&routed.entry.kind).is_some_and(|m| m.is_login_path(&routed.rel))
}

/// Vault's existence check for a write under `auth/<mount>/`: whether it creates or updates.
pub async fn exists(routed: &Routed, req: &Request) -> Result<Option<bool>, ApiError> {
    match method_for(&routed.entry.kind) {
        Some(method) => method.exists(routed.call(req)).await,
        None => Ok(None),
    }
}

/// Whether `key` holds an entry in the mount's storage.
pub(crate) async fn stored(areq: &MountRequest<'_>, key: &str) -> Result<Option<bool>, ApiError> {
    Ok(Some(areq.storage.get(key).await?.is_some()))
}

/// Serve a request under `auth/<mount>/` (a login, or an authorised management call).
pub async fn handle(
    core: &Core,
    active: &ActiveState,
    routed: &Routed,
    req: &Request,
) -> Result<Option<Response>, ApiError> {
    let method = method_for(&routed.entry.kind).ok_or_else(|| ApiError::no_route(&req.path))?;
    let entry = &routed.entry;
    match method.handle(routed.call(req)).await? {
        Outcome::Reply(resp) => Ok(resp.map(|r| *r)),
        Outcome::Login(grant) => {
            let limits = issue::Limits {
                mount_default_ttl: entry.config.default_lease_ttl,
                mount_max_ttl: entry.config.max_lease_ttl,
                system_default_ttl: core.config.default_lease_ttl_secs,
                system_max_ttl: core.config.max_lease_ttl_secs,
            };
            let now = crate::clock::unix_now_ms();
            let (mut token, warnings) = issue::plan(&grant, &entry.path, &req.path, limits, now)?;
            let mut identity_policies = Vec::new();
            if let Some(alias) = &grant.alias {
                let identity = &active.identity;
                let entity = identity
                    .login(
                        &entry.accessor,
                        &alias.name,
                        &alias.metadata,
                        &grant.group_aliases,
                    )
                    .await?;
                // Vault refuses a login whose entity is disabled.
                if entity.disabled {
                    return Err(ApiError::PermissionDenied);
                }
                identity_policies =
                    crate::identity::identity_policies(identity, &entity.id).await?;
                token.entity_id = entity.id;
            }
            issue::issue(&active.tokens, token, identity_policies, warnings, now).await
        }
    }
}

/// A name segment (user, role) from a path: non-empty, no `/`.
pub(crate) fn name_segment(name: &str, what: &str) -> Result<String, ApiError> {
    if name.is_empty() || name.contains('/') {
        return Err(ApiError::bad(format!("invalid {what} {name:?}")));
    }
    Ok(name.to_string())
}

/// The `keys` of a LIST, or Vault's bare 404 when there are none.
pub(crate) fn list_response(keys: Vec<String>) -> Result<Outcome, ApiError> {
    if keys.is_empty() {
        return Err(ApiError::NotFound(String::new()));
    }
    Ok(Outcome::Reply(Some(Box::new(Response::data(
        serde_json::json!({ "keys": keys }),
    )))))
}

/// A response carrying `data`.
pub(crate) fn data_reply(data: serde_json::Map<String, serde_json::Value>) -> Outcome {
    Outcome::Reply(Some(Box::new(Response::data(serde_json::Value::Object(
        data,
    )))))
}

/// The 204 of a write.
pub(crate) fn no_content() -> Outcome {
    Outcome::Reply(None)
}
