//! `IdentityStore`: entities, aliases, groups and group aliases behind the barrier under
//! `sys/identity/`, so they replicate through Raft like every other entry. Only the active node
//! writes (standbys forward every request); the writes of one store run one at a time under
//! its lock, so two logins of one new alias make one entity.
//!
//! Layout: `entity/<id>`, `alias/<id>`, `group/<id>`, `group-alias/<id>` hold the records;
//! `entity-name/<hex>`, `group-name/<hex>` (lower-cased names, as Vault's are case-insensitive),
//! `alias-factor/<accessor>/<hex>` and `group-alias-factor/<accessor>/<hex>` map a name to an
//! id. A record and its index are written in one replicated entry; a lookup through an index
//! checks the record it finds still carries that name, so an index left behind by a crash
//! between a rename's two writes, or a delete's, is never believed.

use super::records::{Alias, Entity, Group, GroupAlias};
use crate::error::ApiError;
use crate::storage::StorageView;
use serde::{de::DeserializeOwned, Serialize};

/// The identity store of one active state.
pub struct IdentityStore {
    view: StorageView,
    /// Serialises every change (read, decide, write).
    pub(super) writes: tokio::sync::Mutex<()>,
}

/// A record kind: its folder and its name index.
#[derive(Clone, Copy)]
pub(super) enum Kind {
    Entity,
    Alias,
    Group,
    GroupAlias,
}

impl Kind {
    fn folder(self) -> &'static str {
        match self {
            Kind::Entity => "entity/",
            Kind::Alias => "alias/",
            Kind::Group => "group/",
            Kind::GroupAlias => "group-alias/",
        }
    }
}

/// The index key of a name (`entity-name/<hex>`), or of a name on a mount
/// (`alias-factor/<accessor>/<hex>`).
pub(super) fn name_key(kind: Kind, accessor: &str, name: &str) -> String {
    let name = hex::encode(name.to_lowercase());
    match kind {
        Kind::Entity => format!("entity-name/{name}"),
        Kind::Group => format!("group-name/{name}"),
        Kind::Alias => format!("alias-factor/{accessor}/{name}"),
        Kind::GroupAlias => format!("group-alias-factor/{accessor}/{name}"),
    }
}

/// One pending write: a key and its JSON bytes.
pub(super) type Put = (String, Vec<u8>);

/// The bytes of a record to put.
pub(super) fn put<T: Serialize>(key: String, value: &T) -> Result<Put, ApiError> {
    let bytes = serde_json::to_vec(value).map_err(ApiError::internal)?;
    Ok((key, bytes))
}

/// The record put of an entity, alias, group or group alias.
pub(super) fn record<T: Serialize>(kind: Kind, id: &str, value: &T) -> Result<Put, ApiError> {
    put(format!("{}{id}", kind.folder()), value)
}

/// The index put of a name.
pub(super) fn index(kind: Kind, accessor: &str, name: &str, id: &str) -> Result<Put, ApiError> {
    put(name_key(kind, accessor, name), &id)
}

impl IdentityStore {
    /// The store over `sys/identity/`.
    pub fn new(view: StorageView) -> Self {
        IdentityStore {
            view,
            writes: tokio::sync::Mutex::new(()),
        }
    }

    /// Write `puts` in one replicated entry.
    pub(super) async fn commit(&self, puts: &[Put]) -> Result<(), ApiError> {
        let pairs: Vec<(&str, &[u8])> = puts
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        self.view.put_many(&pairs).await
    }

    pub(super) async fn remove(&self, key: &str) -> Result<(), ApiError> {
        self.view.delete(key).await
    }

    async fn get<T: DeserializeOwned>(&self, kind: Kind, id: &str) -> Result<Option<T>, ApiError> {
        if id.is_empty() || id.contains('/') {
            return Ok(None);
        }
        self.view.get_json(&format!("{}{id}", kind.folder())).await
    }

    async fn indexed(
        &self,
        kind: Kind,
        accessor: &str,
        name: &str,
    ) -> Result<Option<String>, ApiError> {
        self.view.get_json(&name_key(kind, accessor, name)).await
    }

    /// Ids of every record of a kind, sorted.
    pub(super) async fn ids(&self, kind: Kind) -> Result<Vec<String>, ApiError> {
        let mut ids = self.view.list(kind.folder()).await?;
        ids.retain(|k| !k.ends_with('/'));
        Ok(ids)
    }

    pub async fn entity(&self, id: &str) -> Result<Option<Entity>, ApiError> {
        self.get(Kind::Entity, id).await
    }

    pub async fn alias(&self, id: &str) -> Result<Option<Alias>, ApiError> {
        self.get(Kind::Alias, id).await
    }

    pub async fn group(&self, id: &str) -> Result<Option<Group>, ApiError> {
        self.get(Kind::Group, id).await
    }

    pub async fn group_alias(&self, id: &str) -> Result<Option<GroupAlias>, ApiError> {
        self.get(Kind::GroupAlias, id).await
    }

    /// The entity named `name` (case-insensitive).
    pub async fn entity_by_name(&self, name: &str) -> Result<Option<Entity>, ApiError> {
        let Some(id) = self.indexed(Kind::Entity, "", name).await? else {
            return Ok(None);
        };
        let found = self.entity(&id).await?;
        Ok(found.filter(|e| e.name.eq_ignore_ascii_case(name)))
    }

    /// The group named `name` (case-insensitive).
    pub async fn group_by_name(&self, name: &str) -> Result<Option<Group>, ApiError> {
        let Some(id) = self.indexed(Kind::Group, "", name).await? else {
            return Ok(None);
        };
        let found = self.group(&id).await?;
        Ok(found.filter(|g| g.name.eq_ignore_ascii_case(name)))
    }

    /// The alias `name` on the auth mount with `accessor`.
    pub async fn alias_by_factors(
        &self,
        accessor: &str,
        name: &str,
    ) -> Result<Option<Alias>, ApiError> {
        let Some(id) = self.indexed(Kind::Alias, accessor, name).await? else {
            return Ok(None);
        };
        let found = self.alias(&id).await?;
        Ok(found.filter(|a| a.mount_accessor == accessor && a.name.eq_ignore_ascii_case(name)))
    }

    /// The group alias `name` on the auth mount with `accessor`.
    pub async fn group_alias_by_factors(
        &self,
        accessor: &str,
        name: &str,
    ) -> Result<Option<GroupAlias>, ApiError> {
        let Some(id) = self.indexed(Kind::GroupAlias, accessor, name).await? else {
            return Ok(None);
        };
        let found = self.group_alias(&id).await?;
        Ok(found.filter(|a| a.mount_accessor == accessor && a.name.eq_ignore_ascii_case(name)))
    }

    /// The aliases of an entity that still exist.
    pub async fn aliases_of(&self, entity: &Entity) -> Result<Vec<Alias>, ApiError> {
        let mut out = Vec::with_capacity(entity.alias_ids.len());
        for id in &entity.alias_ids {
            if let Some(alias) = self
                .alias(id)
                .await?
                .filter(|a| a.canonical_id == entity.id)
            {
                out.push(alias);
            }
        }
        Ok(out)
    }

    /// Every group (a scan: the store keeps no member index).
    pub async fn groups(&self) -> Result<Vec<Group>, ApiError> {
        let mut out = Vec::new();
        for id in self.ids(Kind::Group).await? {
            if let Some(group) = self.group(&id).await? {
                out.push(group);
            }
        }
        Ok(out)
    }

    /// The group aliases on the auth mount `accessor`.
    pub async fn group_aliases_on(&self, accessor: &str) -> Result<Vec<GroupAlias>, ApiError> {
        let folder = format!("group-alias-factor/{accessor}/");
        let mut out = Vec::new();
        for key in self.view.list(&folder).await? {
            let Some(id) = self
                .view
                .get_json::<String>(&format!("{folder}{key}"))
                .await?
            else {
                continue;
            };
            if let Some(alias) = self.group_alias(&id).await? {
                if alias.mount_accessor == accessor {
                    out.push(alias);
                }
            }
        }
        Ok(out)
    }

    /// Every entity.
    pub async fn entities(&self) -> Result<Vec<Entity>, ApiError> {
        let mut out = Vec::new();
        for id in self.ids(Kind::Entity).await? {
            if let Some(entity) = self.entity(&id).await? {
                out.push(entity);
            }
        }
        Ok(out)
    }
}
