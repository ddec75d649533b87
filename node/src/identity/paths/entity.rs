//! `identity/entity*` and `identity/entity-alias*`.

use super::{data, kv_pairs, list, not_found, shape, sub, IdentityCall, Sub};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::identity::entity::{AliasInput, EntityInput};
use crate::identity::records::Entity;
use crate::request::{Operation, Response};
use serde_json::{json, Map, Value};

type Answer = Result<Option<Response>, ApiError>;

fn entity_input(call: &IdentityCall<'_>) -> Result<EntityInput, ApiError> {
    let f = Fields(&call.req.data);
    Ok(EntityInput {
        id: f.str_opt("id")?,
        name: f.str_opt("name")?,
        metadata: kv_pairs(call.req, "metadata")?,
        policies: f.list_opt("policies")?,
        disabled: match call.req.data.get("disabled") {
            None | Some(Value::Null) => None,
            Some(v) => Some(crate::fields::boolean(v, "disabled")?),
        },
    })
}

/// Create or update; Vault answers a new entity with its id, name and aliases, an update with
/// 204.
async fn write(call: &IdentityCall<'_>, input: EntityInput) -> Answer {
    let (entity, new) = call.store.write_entity(input).await?;
    if !new {
        return Ok(None);
    }
    let aliases = if entity.alias_ids.is_empty() {
        Value::Null
    } else {
        json!(entity.alias_ids)
    };
    data(json!({ "id": entity.id, "name": entity.name, "aliases": aliases }))
}

/// An entity read, or 404.
pub(super) async fn read(call: &IdentityCall<'_>, entity: Option<Entity>) -> Answer {
    let Some(entity) = entity else {
        return not_found();
    };
    match call.store.resolve(&entity.id).await? {
        Some(resolved) => data(shape::entity(call, &resolved).await?),
        None => not_found(),
    }
}

/// `identity/entity[/id|/name[/<key>]]`.
pub(super) async fn entity(call: &IdentityCall<'_>, rest: Option<&str>) -> Answer {
    let op = call.req.operation;
    match sub(rest) {
        Some(Sub::Root) if call.is_write() => write(call, entity_input(call)?).await,
        Some(Sub::List(by @ ("id" | "name"))) if op == Operation::List => {
            list_entities(call, by).await
        }
        Some(Sub::Item(by @ ("id" | "name"), key)) => {
            let found = match by {
                "id" => call.store.entity(key).await?,
                _ => call.store.entity_by_name(key).await?,
            };
            match op {
                Operation::Read => read(call, found).await,
                Operation::Delete => {
                    if let Some(e) = found {
                        call.store.delete_entity(&e.id).await?;
                    }
                    Ok(None)
                }
                Operation::Create | Operation::Update => {
                    let mut input = entity_input(call)?;
                    if by == "id" {
                        input.id = Some(key.to_string());
                    } else {
                        input.id = None;
                        input.name = Some(key.to_string());
                    }
                    write(call, input).await
                }
                _ => Err(ApiError::UnsupportedOperation),
            }
        }
        Some(Sub::Root | Sub::List("id" | "name")) => Err(ApiError::UnsupportedOperation),
        _ => Err(ApiError::no_route(&call.req.path)),
    }
}

async fn list_entities(call: &IdentityCall<'_>, by: &str) -> Answer {
    let mut keys = Vec::new();
    let mut info = Map::new();
    for e in call.store.entities().await? {
        let aliases: Vec<Value> = call
            .store
            .aliases_of(&e)
            .await?
            .iter()
            .map(|a| shape::alias_brief(call, a))
            .collect();
        let key = if by == "id" {
            e.id.clone()
        } else {
            e.name.clone()
        };
        let mut entry = json!({ "name": e.name, "aliases": aliases });
        if by == "name" {
            entry["id"] = json!(e.id);
        }
        info.insert(key.clone(), entry);
        keys.push(key);
    }
    keys.sort();
    list(keys, info)
}

fn alias_input(call: &IdentityCall<'_>) -> Result<AliasInput, ApiError> {
    let f = Fields(&call.req.data);
    Ok(AliasInput {
        id: f.str_opt("id")?,
        name: f.str_opt("name")?,
        canonical_id: f.str_opt("canonical_id")?,
        mount_accessor: f.str_opt("mount_accessor")?,
        custom_metadata: kv_pairs(call.req, "custom_metadata")?,
    })
}

async fn write_alias(call: &IdentityCall<'_>, input: AliasInput) -> Answer {
    let alias = call.store.write_alias(input, call.mount_known()).await?;
    data(json!({ "id": alias.id, "canonical_id": alias.canonical_id }))
}

/// `identity/entity-alias[/id[/<id>]]`.
pub(super) async fn alias(call: &IdentityCall<'_>, rest: Option<&str>) -> Answer {
    let op = call.req.operation;
    match sub(rest) {
        Some(Sub::Root) if call.is_write() => write_alias(call, alias_input(call)?).await,
        Some(Sub::List("id")) if op == Operation::List => list_aliases(call).await,
        Some(Sub::Item("id", id)) => match op {
            Operation::Read => match call.store.alias(id).await? {
                Some(a) => data(shape::alias_read(call, &a)),
                None => not_found(),
            },
            Operation::Delete => {
                call.store.delete_alias(id).await?;
                Ok(None)
            }
            Operation::Create | Operation::Update => {
                let mut input = alias_input(call)?;
                input.id = Some(id.to_string());
                write_alias(call, input).await
            }
            _ => Err(ApiError::UnsupportedOperation),
        },
        Some(Sub::Root | Sub::List("id")) => Err(ApiError::UnsupportedOperation),
        _ => Err(ApiError::no_route(&call.req.path)),
    }
}

async fn list_aliases(call: &IdentityCall<'_>) -> Answer {
    let mut keys = Vec::new();
    let mut info = Map::new();
    for e in call.store.entities().await? {
        for a in call.store.aliases_of(&e).await? {
            let mut entry = shape::alias_brief(call, &a);
            entry["canonical_id"] = json!(a.canonical_id);
            entry["custom_metadata"] = json!(a.custom_metadata);
            entry["local"] = json!(false);
            info.insert(a.id.clone(), entry);
            keys.push(a.id);
        }
    }
    keys.sort();
    list(keys, info)
}
