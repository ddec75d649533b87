//! The JSON shapes of Vault 1.16's identity answers (`handleEntityReadCommon`,
//! `handleAliasReadCommon`, `handleGroupReadCommon`, their list `key_info`s). Empty maps are
//! `null`, as Go's nil maps render.

use super::IdentityCall;
use crate::error::ApiError;
use crate::identity::records::{timestamp, Alias, Group, GroupAlias, Meta};
use crate::identity::view::Resolved;
use serde_json::{json, Map, Value};

fn meta(m: &Meta) -> Value {
    if m.is_empty() {
        Value::Null
    } else {
        json!(m)
    }
}

fn ids_or_null(ids: Vec<String>) -> Value {
    if ids.is_empty() {
        Value::Null
    } else {
        json!(ids)
    }
}

/// The mount fields of an alias answer (absent when the mount is gone, as in Vault).
fn mount_fields(call: &IdentityCall<'_>, accessor: &str, into: &mut Map<String, Value>) {
    if let Some((kind, path)) = call.mount_of(accessor) {
        into.insert("mount_type".into(), json!(kind));
        into.insert("mount_path".into(), json!(path));
    }
}

/// An entity alias as an entity read lists it (and `entity-alias/id/<id>` shows it).
pub fn alias(call: &IdentityCall<'_>, a: &Alias) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), json!(a.id));
    map.insert("canonical_id".into(), json!(a.canonical_id));
    map.insert("mount_accessor".into(), json!(a.mount_accessor));
    map.insert("metadata".into(), meta(&a.metadata));
    map.insert("custom_metadata".into(), meta(&a.custom_metadata));
    map.insert("name".into(), json!(a.name));
    map.insert("merged_from_canonical_ids".into(), Value::Null);
    map.insert("creation_time".into(), json!(timestamp(a.creation_ms)));
    map.insert(
        "last_update_time".into(),
        json!(timestamp(a.last_update_ms)),
    );
    map.insert("local".into(), json!(false));
    mount_fields(call, &a.mount_accessor, &mut map);
    Value::Object(map)
}

/// `entity-alias/id/<id>`: the alias with its namespace.
pub fn alias_read(call: &IdentityCall<'_>, a: &Alias) -> Value {
    let mut v = alias(call, a);
    v["namespace_id"] = json!("root");
    v
}

/// An entity read.
pub async fn entity(call: &IdentityCall<'_>, r: &Resolved) -> Result<Value, ApiError> {
    let e = &r.entity;
    let aliases: Vec<Value> = call
        .store
        .aliases_of(e)
        .await?
        .iter()
        .map(|a| alias(call, a))
        .collect();
    let direct: Vec<String> = r.direct_groups.iter().map(|g| g.id.clone()).collect();
    let inherited: Vec<String> = r.inherited_groups.iter().map(|g| g.id.clone()).collect();
    let all: Vec<String> = direct.iter().chain(&inherited).cloned().collect();
    Ok(json!({
        "id": e.id,
        "name": e.name,
        "metadata": meta(&e.metadata),
        "merged_entity_ids": null,
        "policies": e.policies,
        "disabled": e.disabled,
        "namespace_id": "root",
        "creation_time": timestamp(e.creation_ms),
        "last_update_time": timestamp(e.last_update_ms),
        "aliases": aliases,
        "mfa_secrets": {},
        "direct_group_ids": direct,
        "inherited_group_ids": inherited,
        "group_ids": all,
    }))
}

/// An alias as a list's `key_info` names it.
pub fn alias_brief(call: &IdentityCall<'_>, a: &Alias) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), json!(a.id));
    map.insert("mount_accessor".into(), json!(a.mount_accessor));
    map.insert("name".into(), json!(a.name));
    mount_fields(call, &a.mount_accessor, &mut map);
    Value::Object(map)
}

/// A group alias (`group-alias/id/<id>`, and a group read's `alias`).
pub fn group_alias(call: &IdentityCall<'_>, a: &GroupAlias) -> Value {
    let mut map = Map::new();
    map.insert("id".into(), json!(a.id));
    map.insert("canonical_id".into(), json!(a.canonical_id));
    map.insert("mount_accessor".into(), json!(a.mount_accessor));
    map.insert("metadata".into(), Value::Null);
    map.insert("name".into(), json!(a.name));
    map.insert("merged_from_canonical_ids".into(), Value::Null);
    map.insert("creation_time".into(), json!(timestamp(a.creation_ms)));
    map.insert(
        "last_update_time".into(),
        json!(timestamp(a.last_update_ms)),
    );
    mount_fields(call, &a.mount_accessor, &mut map);
    Value::Object(map)
}

/// A group read; `all` is every group (for its parents).
pub async fn group(call: &IdentityCall<'_>, g: &Group, all: &[Group]) -> Result<Value, ApiError> {
    let parents: Vec<String> = all
        .iter()
        .filter(|p| p.member_group_ids.contains(&g.id))
        .map(|p| p.id.clone())
        .collect();
    let alias = match call.store.group_alias(&g.alias_id).await? {
        Some(a) => group_alias(call, &a),
        None => json!({}),
    };
    Ok(json!({
        "id": g.id,
        "name": g.name,
        "policies": g.policies,
        "member_entity_ids": g.member_entity_ids,
        "member_group_ids": ids_or_null(g.member_group_ids.clone()),
        "parent_group_ids": ids_or_null(parents),
        "metadata": meta(&g.metadata),
        "creation_time": timestamp(g.creation_ms),
        "last_update_time": timestamp(g.last_update_ms),
        "modify_index": g.modify_index,
        "type": g.kind.as_str(),
        "namespace_id": "root",
        "alias": alias,
    }))
}
