//! The identity store (Vault's `identity/` backend): entities, their aliases, groups and
//! group aliases, kept behind the barrier under `sys/identity/` and replicated like every
//! other entry; only the active node writes (standbys forward).
//!
//! - `records`: the stored records; `store`: reads, indexes, the write lock.
//! - `entity`, `group`: the changes the API makes, with Vault's rules and messages.
//! - `login`: what a login does (alias and entity made on first login, metadata refreshed,
//!   external group membership from the group aliases the method asserts).
//! - `view`: the policies an entity's groups add and the `policy::IdentityView` that fills
//!   templated rules, read at each request.
//! - `paths/`: `identity/*` as Vault 1.16 serves it.
//!
//! Never imports `core`, the pipeline or auth methods: they hand it what it needs.

mod entity;
mod group;
mod login;
pub mod paths;
pub mod records;
mod store;
mod view;

pub use entity::{AliasInput, EntityInput};
pub use group::{GroupAliasInput, GroupInput};
pub use store::IdentityStore;
pub use view::Resolved;

use crate::error::ApiError;
use crate::policy::Acl;
use crate::policy_store::PolicyStore;
use crate::token::TokenEntry;

/// The ACL of a token: its own policies, plus its entity's and groups' policies, with
/// templated rules filled from its entity. A token whose entity is disabled is refused (403);
/// one whose entity is gone keeps its own policies only.
pub async fn acl_for(
    policies: &PolicyStore,
    identity: &IdentityStore,
    token: &TokenEntry,
) -> Result<Acl, ApiError> {
    if token.entity_id.is_empty() {
        return policies.acl(&token.policies).await;
    }
    let Some(resolved) = identity.resolve(&token.entity_id).await? else {
        return policies.acl(&token.policies).await;
    };
    if resolved.entity.disabled {
        return Err(ApiError::PermissionDenied);
    }
    let mut names = token.policies.clone();
    names.extend(resolved.policies());
    let view = identity.template_view(&resolved).await?;
    policies.acl_with(&names, Some(&view)).await
}

/// The policies a token's entity and its groups add (Vault's `identity_policies`).
pub async fn identity_policies(
    identity: &IdentityStore,
    entity_id: &str,
) -> Result<Vec<String>, ApiError> {
    if entity_id.is_empty() {
        return Ok(Vec::new());
    }
    Ok(identity
        .resolve(entity_id)
        .await?
        .map(|r| r.policies())
        .unwrap_or_default())
}
