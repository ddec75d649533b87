//! `identity/lookup/entity` and `identity/lookup/group`: one criterion (`name`, `id`,
//! `alias_id`, or `alias_name` with `alias_mount_accessor`) → the read answer, or 204 when
//! nothing matches, as Vault answers.

use super::{entity, group, IdentityCall};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::request::Response;

type Answer = Result<Option<Response>, ApiError>;

/// The criteria a lookup gives.
struct Criteria {
    name: Option<String>,
    id: Option<String>,
    alias_id: Option<String>,
    alias: Option<(String, String)>,
}

fn criteria(call: &IdentityCall<'_>) -> Result<Criteria, ApiError> {
    let f = Fields(&call.req.data);
    let get = |k: &str| -> Result<Option<String>, ApiError> {
        Ok(f.str_opt(k)?.filter(|s| !s.is_empty()))
    };
    let (alias_name, accessor) = (get("alias_name")?, get("alias_mount_accessor")?);
    let alias = match (alias_name, accessor) {
        (Some(n), Some(a)) => Some((n, a)),
        (None, None) => None,
        (Some(_), None) => return Err(ApiError::bad("missing 'alias_mount_accessor' field")),
        (None, Some(_)) => return Err(ApiError::bad("missing 'alias_name' field")),
    };
    let c = Criteria {
        name: get("name")?,
        id: get("id")?,
        alias_id: get("alias_id")?,
        alias,
    };
    let given = [
        c.name.is_some(),
        c.id.is_some(),
        c.alias_id.is_some(),
        c.alias.is_some(),
    ];
    match given.iter().filter(|g| **g).count() {
        0 => Err(ApiError::bad("missing type information for lookup")),
        1 => Ok(c),
        _ => Err(ApiError::bad("query parameters are mutually exclusive")),
    }
}

/// `lookup/<kind>`.
pub(super) async fn lookup(call: &IdentityCall<'_>, rest: Option<&str>) -> Answer {
    if !call.is_write() {
        return match rest {
            Some("entity" | "group") => Err(ApiError::UnsupportedOperation),
            _ => Err(ApiError::no_route(&call.req.path)),
        };
    }
    match rest {
        Some("entity") => lookup_entity(call).await,
        Some("group") => lookup_group(call).await,
        _ => Err(ApiError::no_route(&call.req.path)),
    }
}

async fn lookup_entity(call: &IdentityCall<'_>) -> Answer {
    let c = criteria(call)?;
    let store = call.store;
    let alias = match (&c.alias_id, &c.alias) {
        (Some(id), _) => store.alias(id).await?,
        (_, Some((name, accessor))) => store.alias_by_factors(accessor, name).await?,
        _ => None,
    };
    let found = match (c.name, c.id, alias) {
        (Some(name), _, _) => store.entity_by_name(&name).await?,
        (_, Some(id), _) => store.entity(&id).await?,
        (_, _, Some(alias)) => store.entity(&alias.canonical_id).await?,
        _ => None,
    };
    match found {
        Some(e) => entity::read(call, Some(e)).await,
        None => Ok(None),
    }
}

async fn lookup_group(call: &IdentityCall<'_>) -> Answer {
    let c = criteria(call)?;
    let store = call.store;
    let alias = match (&c.alias_id, &c.alias) {
        (Some(id), _) => store.group_alias(id).await?,
        (_, Some((name, accessor))) => store.group_alias_by_factors(accessor, name).await?,
        _ => None,
    };
    let found = match (c.name, c.id, alias) {
        (Some(name), _, _) => store.group_by_name(&name).await?,
        (_, Some(id), _) => store.group(&id).await?,
        (_, _, Some(alias)) => store.group(&alias.canonical_id).await?,
        _ => None,
    };
    match found {
        Some(g) => group::read(call, Some(g)).await,
        None => Ok(None),
    }
}
