//! `identity/group*` and `identity/group-alias*`.

use super::{data, kv_pairs, list, not_found, shape, sub, IdentityCall, Sub};
use crate::error::ApiError;
use crate::fields::Fields;
use crate::identity::group::{GroupAliasInput, GroupInput};
use crate::identity::records::Group;
use crate::request::{Operation, Response};
use serde_json::{json, Map};

type Answer = Result<Option<Response>, ApiError>;

fn group_input(call: &IdentityCall<'_>) -> Result<GroupInput, ApiError> {
    let f = Fields(&call.req.data);
    Ok(GroupInput {
        id: f.str_opt("id")?,
        name: f.str_opt("name")?,
        kind: f.str_opt("type")?,
        metadata: kv_pairs(call.req, "metadata")?,
        policies: f.list_opt("policies")?,
        member_entity_ids: f.list_opt("member_entity_ids")?,
        member_group_ids: f.list_opt("member_group_ids")?,
    })
}

/// Create or update; a new group is answered with its id and name, an update with 204.
async fn write(call: &IdentityCall<'_>, input: GroupInput) -> Answer {
    let (group, new) = call.store.write_group(input).await?;
    if !new {
        return Ok(None);
    }
    data(json!({ "id": group.id, "name": group.name }))
}

/// A group read, or 404.
pub(super) async fn read(call: &IdentityCall<'_>, group: Option<Group>) -> Answer {
    let Some(group) = group else {
        return not_found();
    };
    let all = call.store.groups().await?;
    data(shape::group(call, &group, &all).await?)
}

/// `identity/group[/id|/name[/<key>]]`.
pub(super) async fn group(call: &IdentityCall<'_>, rest: Option<&str>) -> Answer {
    let op = call.req.operation;
    match sub(rest) {
        Some(Sub::Root) if call.is_write() => write(call, group_input(call)?).await,
        Some(Sub::List(by @ ("id" | "name"))) if op == Operation::List => {
            list_groups(call, by).await
        }
        Some(Sub::Item(by @ ("id" | "name"), key)) => {
            let found = match by {
                "id" => call.store.group(key).await?,
                _ => call.store.group_by_name(key).await?,
            };
            match op {
                Operation::Read => read(call, found).await,
                Operation::Delete => {
                    if let Some(g) = found {
                        call.store.delete_group(&g.id).await?;
                    }
                    Ok(None)
                }
                Operation::Create | Operation::Update => {
                    let mut input = group_input(call)?;
                    if by == "id" {
                        input.id = Some(key.to_string());
                    } else {
                        input.id = found.map(|g| g.id);
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

async fn list_groups(call: &IdentityCall<'_>, by: &str) -> Answer {
    let all = call.store.groups().await?;
    let mut keys = Vec::new();
    let mut info = Map::new();
    for g in &all {
        let parents = all
            .iter()
            .filter(|p| p.member_group_ids.contains(&g.id))
            .count();
        let mut entry = json!({
            "name": g.name,
            "num_member_entities": g.member_entity_ids.len(),
            "num_parent_groups": parents,
        });
        if let Some(a) = call.store.group_alias(&g.alias_id).await? {
            entry["alias"] =
                json!({"id": a.id, "name": a.name, "mount_accessor": a.mount_accessor});
            if let Some((kind, path)) = call.mount_of(&a.mount_accessor) {
                entry["alias"]["mount_type"] = json!(kind);
                entry["alias"]["mount_path"] = json!(path);
            }
        }
        let key = if by == "id" {
            g.id.clone()
        } else {
            g.name.clone()
        };
        info.insert(g.id.clone(), entry);
        keys.push(key);
    }
    keys.sort();
    list(keys, info)
}

fn alias_input(call: &IdentityCall<'_>) -> Result<GroupAliasInput, ApiError> {
    let f = Fields(&call.req.data);
    Ok(GroupAliasInput {
        id: f.str_opt("id")?,
        name: f.str_opt("name")?,
        mount_accessor: f.str_opt("mount_accessor")?,
        canonical_id: f.str_opt("canonical_id")?,
    })
}

async fn write_alias(call: &IdentityCall<'_>, input: GroupAliasInput) -> Answer {
    let alias = call
        .store
        .write_group_alias(input, call.mount_known())
        .await?;
    data(json!({ "id": alias.id, "canonical_id": alias.canonical_id }))
}

/// `identity/group-alias[/id[/<id>]]`.
pub(super) async fn alias(call: &IdentityCall<'_>, rest: Option<&str>) -> Answer {
    let op = call.req.operation;
    match sub(rest) {
        Some(Sub::Root) if call.is_write() => write_alias(call, alias_input(call)?).await,
        Some(Sub::List("id")) if op == Operation::List => list_aliases(call).await,
        Some(Sub::Item("id", id)) => match op {
            Operation::Read => match call.store.group_alias(id).await? {
                Some(a) => {
                    let mut v = shape::group_alias(call, &a);
                    v["namespace_id"] = json!("root");
                    data(v)
                }
                None => not_found(),
            },
            Operation::Delete => {
                call.store.delete_group_alias(id).await?;
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
    for g in call.store.groups().await? {
        if let Some(a) = call.store.group_alias(&g.alias_id).await? {
            let mut entry = json!({
                "canonical_id": a.canonical_id,
                "mount_accessor": a.mount_accessor,
                "name": a.name,
            });
            if let Some((kind, path)) = call.mount_of(&a.mount_accessor) {
                entry["mount_type"] = json!(kind);
                entry["mount_path"] = json!(path);
            }
            info.insert(a.id.clone(), entry);
            keys.push(a.id);
        }
    }
    keys.sort();
    list(keys, info)
}
