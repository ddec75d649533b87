//! `identity/*` as Vault 1.16 serves it: entities (`entity`, `entity/id/<id>`,
//! `entity/name/<name>`), entity aliases (`entity-alias`, `entity-alias/id/<id>`), groups
//! (`group`, `group/id/<id>`, `group/name/<name>`), group aliases (`group-alias`,
//! `group-alias/id/<id>`) and `lookup/{entity,group}`. The ACL has already been checked by the
//! pipeline, like any path; writes run only on the active node (standbys forward).

mod entity;
mod group;
mod lookup;
mod shape;

use super::records::Meta;
use super::store::IdentityStore;
use crate::error::ApiError;
use crate::request::{Operation, Request, Response};
use crate::router::{MountTable, Table};
use serde_json::{json, Map, Value};

/// What a handler needs: the store, the auth mounts (accessors), the request.
pub struct IdentityCall<'a> {
    pub store: &'a IdentityStore,
    pub mounts: &'a MountTable,
    pub req: &'a Request,
}

impl IdentityCall<'_> {
    /// `(type, path)` of the auth mount with `accessor`, as alias answers show it.
    fn mount_of(&self, accessor: &str) -> Option<(String, String)> {
        self.mounts
            .entries(Table::Auth)
            .into_iter()
            .find(|m| m.accessor == accessor)
            .map(|m| (m.kind, format!("auth/{}", m.path)))
    }

    fn mount_known(&self) -> impl Fn(&str) -> bool + '_ {
        |accessor| self.mount_of(accessor).is_some()
    }

    fn is_write(&self) -> bool {
        matches!(self.req.operation, Operation::Create | Operation::Update)
    }
}

/// Serve `identity/<rel>`.
pub async fn handle(call: IdentityCall<'_>, rel: &str) -> Result<Option<Response>, ApiError> {
    let rel = rel.trim_end_matches('/');
    let (head, rest) = match rel.split_once('/') {
        Some((h, r)) => (h, Some(r)),
        None => (rel, None),
    };
    match head {
        "entity" => entity::entity(&call, rest).await,
        "entity-alias" => entity::alias(&call, rest).await,
        "group" => group::group(&call, rest).await,
        "group-alias" => group::alias(&call, rest).await,
        "lookup" => lookup::lookup(&call, rest).await,
        _ => Err(ApiError::no_route(&call.req.path)),
    }
}

/// Where a path under a kind points: the kind itself, its `id`/`name` listing, or one item.
enum Sub<'a> {
    Root,
    List(&'a str),
    Item(&'a str, &'a str),
}

fn sub(rest: Option<&str>) -> Option<Sub<'_>> {
    match rest {
        None => Some(Sub::Root),
        Some(r) => match r.split_once('/') {
            None => Some(Sub::List(r)),
            Some((by, key)) if !key.is_empty() => Some(Sub::Item(by, key)),
            Some((by, _)) => Some(Sub::List(by)),
        },
    }
}

/// Vault's `keys` + `key_info` list answer, or its bare 404 when empty.
fn list(keys: Vec<String>, info: Map<String, Value>) -> Result<Option<Response>, ApiError> {
    if keys.is_empty() {
        return Err(ApiError::NotFound(String::new()));
    }
    Ok(Some(Response::data(
        json!({ "keys": keys, "key_info": info }),
    )))
}

/// A `data` answer.
fn data(value: Value) -> Result<Option<Response>, ApiError> {
    Ok(Some(Response::data(value)))
}

/// A read of nothing: Vault's bare 404.
fn not_found() -> Result<Option<Response>, ApiError> {
    Err(ApiError::NotFound(String::new()))
}

/// Vault's `TypeKVPairs`: a map of strings, or a list of `key=value` strings.
fn kv_pairs(req: &Request, field: &str) -> Result<Option<Meta>, ApiError> {
    let bad = || {
        ApiError::bad(format!(
            "failed to parse {field}: expected a map of strings"
        ))
    };
    let scalar = |v: &Value| match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    };
    match req.data.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(Value::Object(map)) => map
            .iter()
            .map(|(k, v)| scalar(v).map(|v| (k.clone(), v)).ok_or_else(bad))
            .collect::<Result<Meta, _>>()
            .map(Some),
        Some(Value::Array(items)) => items
            .iter()
            .map(|i| {
                let s = i.as_str().ok_or_else(bad)?;
                let (k, v) = s.split_once('=').ok_or_else(bad)?;
                Ok((k.to_string(), v.to_string()))
            })
            .collect::<Result<Meta, ApiError>>()
            .map(Some),
        Some(_) => Err(bad()),
    }
}
