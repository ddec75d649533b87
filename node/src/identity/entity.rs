//! Changes to entities and their aliases, each under the store's lock, with Vault's rules and
//! messages: names unique (case-insensitive), no `root` among policies, one alias per
//! (mount accessor, name), at most one alias of an entity per mount.

use super::records::{dedup, default_entity_name, Alias, Entity, Meta};
use super::store::{index, name_key, record, IdentityStore, Kind};
use crate::error::ApiError;

/// The fields an entity write may set; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct EntityInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub metadata: Option<Meta>,
    pub policies: Option<Vec<String>>,
    pub disabled: Option<bool>,
}

/// The fields an entity-alias write may set.
#[derive(Debug, Default, Clone)]
pub struct AliasInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub canonical_id: Option<String>,
    pub mount_accessor: Option<String>,
    pub custom_metadata: Option<Meta>,
}

impl IdentityStore {
    /// Create or update an entity (Vault's `handleEntityUpdateCommon`): by id when given, else
    /// by name when one exists. Returns the entity and whether it is new.
    pub async fn write_entity(&self, input: EntityInput) -> Result<(Entity, bool), ApiError> {
        let _guard = self.writes.lock().await;
        let mut entity = match input.id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => self
                .entity(id)
                .await?
                .ok_or_else(|| ApiError::bad("entity not found from id"))?,
            None => Entity::default(),
        };
        if let Some(name) = input.name.as_deref().filter(|s| !s.is_empty()) {
            match self.entity_by_name(name).await? {
                None => {}
                Some(found) if entity.id.is_empty() => entity = found,
                Some(found) if found.id == entity.id => {}
                Some(_) => return Err(ApiError::bad("entity name is already in use")),
            }
        }
        let old_name = entity.name.clone();
        if let Some(name) = input.name.filter(|s| !s.is_empty()) {
            entity.name = name;
        }
        if let Some(policies) = input.policies {
            entity.policies = dedup(policies);
        }
        if entity
            .policies
            .iter()
            .any(|p| p.eq_ignore_ascii_case("root"))
        {
            return Err(ApiError::bad("policies cannot contain root"));
        }
        if let Some(disabled) = input.disabled {
            entity.disabled = disabled;
        }
        if let Some(metadata) = input.metadata {
            entity.metadata = metadata;
        }
        let new = entity.id.is_empty();
        self.save_entity(&mut entity, &old_name).await?;
        Ok((entity, new))
    }

    /// Give a new entity its id and name, stamp it, write it with its name index, and drop
    /// the index of a name it no longer has.
    pub(super) async fn save_entity(
        &self,
        entity: &mut Entity,
        old_name: &str,
    ) -> Result<(), ApiError> {
        let now = crate::clock::unix_now_ms();
        if entity.id.is_empty() {
            entity.id = crate::ids::uuid();
            entity.creation_ms = now;
        }
        if entity.name.is_empty() {
            entity.name = default_entity_name(&entity.id);
        }
        entity.last_update_ms = now;
        self.commit(&[
            record(Kind::Entity, &entity.id, &*entity)?,
            index(Kind::Entity, "", &entity.name, &entity.id)?,
        ])
        .await?;
        if !old_name.is_empty() && !old_name.eq_ignore_ascii_case(&entity.name) {
            self.remove(&name_key(Kind::Entity, "", old_name)).await?;
        }
        Ok(())
    }

    /// Delete an entity, its aliases, and its memberships. `false` if there was none.
    pub async fn delete_entity(&self, id: &str) -> Result<bool, ApiError> {
        let _guard = self.writes.lock().await;
        let Some(entity) = self.entity(id).await? else {
            return Ok(false);
        };
        self.remove(&format!("entity/{id}")).await?;
        self.remove(&name_key(Kind::Entity, "", &entity.name))
            .await?;
        for alias in self.aliases_of(&entity).await? {
            self.drop_alias(&alias).await?;
        }
        for mut group in self.groups().await? {
            if group.member_entity_ids.iter().any(|m| m == id) {
                group.member_entity_ids.retain(|m| m != id);
                group.last_update_ms = crate::clock::unix_now_ms();
                group.modify_index += 1;
                self.commit(&[record(Kind::Group, &group.id, &group)?])
                    .await?;
            }
        }
        Ok(true)
    }

    async fn drop_alias(&self, alias: &Alias) -> Result<(), ApiError> {
        self.remove(&format!("alias/{}", alias.id)).await?;
        self.remove(&name_key(Kind::Alias, &alias.mount_accessor, &alias.name))
            .await
    }

    /// Create or update an entity alias (Vault's `handleAliasCreateUpdate`). `mount_known`
    /// says whether an accessor names an auth mount. Returns the alias.
    pub async fn write_alias(
        &self,
        input: AliasInput,
        mount_known: impl Fn(&str) -> bool,
    ) -> Result<Alias, ApiError> {
        let _guard = self.writes.lock().await;
        let mut alias = match input.id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => self
                .alias(id)
                .await?
                .ok_or_else(|| ApiError::bad("invalid alias ID provided"))?,
            None => {
                let name = input.name.as_deref().unwrap_or_default();
                let accessor = input.mount_accessor.as_deref().unwrap_or_default();
                if name.is_empty() {
                    return Err(ApiError::bad("'name' is a required parameter"));
                }
                if accessor.is_empty() {
                    return Err(ApiError::bad("'mount_accessor' is a required parameter"));
                }
                self.alias_by_factors(accessor, name)
                    .await?
                    .unwrap_or_default()
            }
        };
        let before = alias.clone();
        if let Some(name) = input.name.filter(|s| !s.is_empty()) {
            alias.name = name;
        }
        if let Some(accessor) = input.mount_accessor.filter(|s| !s.is_empty()) {
            alias.mount_accessor = accessor;
        }
        if !mount_known(&alias.mount_accessor) {
            return Err(ApiError::bad(format!(
                "invalid mount accessor {:?}",
                alias.mount_accessor
            )));
        }
        if let Some(custom) = input.custom_metadata {
            alias.custom_metadata = custom;
        }
        let canonical = input.canonical_id.filter(|s| !s.is_empty());
        self.place_alias(alias, &before, canonical).await
    }

    /// Check the alias's factors are free, attach it to its entity (a new one when it has
    /// none), and write both.
    async fn place_alias(
        &self,
        mut alias: Alias,
        before: &Alias,
        canonical: Option<String>,
    ) -> Result<Alias, ApiError> {
        if let Some(other) = self
            .alias_by_factors(&alias.mount_accessor, &alias.name)
            .await?
        {
            if other.id != alias.id {
                return Err(ApiError::bad(
                    "alias with combination of mount accessor and name already exists",
                ));
            }
        }
        let mut entity = match canonical
            .as_deref()
            .or(Some(alias.canonical_id.as_str()).filter(|s| !s.is_empty()))
        {
            Some(id) => self
                .entity(id)
                .await?
                .ok_or_else(|| ApiError::bad("invalid canonical ID"))?,
            None => Entity::default(),
        };
        if entity.id.is_empty() {
            self.save_entity(&mut entity, "").await?;
        }
        for other in self.aliases_of(&entity).await? {
            if other.id != alias.id && other.mount_accessor == alias.mount_accessor {
                return Err(ApiError::bad(format!(
                    "Alias already exists for requested entity and mount accessor: {}",
                    other.id
                )));
            }
        }
        let now = crate::clock::unix_now_ms();
        if alias.id.is_empty() {
            alias.id = crate::ids::uuid();
            alias.creation_ms = now;
        }
        alias.last_update_ms = now;
        let moved_from = (!before.canonical_id.is_empty() && before.canonical_id != entity.id)
            .then(|| before.canonical_id.clone());
        alias.canonical_id = entity.id.clone();
        if !entity.alias_ids.contains(&alias.id) {
            entity.alias_ids.push(alias.id.clone());
            entity.last_update_ms = now;
        }
        self.commit(&[
            record(Kind::Alias, &alias.id, &alias)?,
            index(Kind::Alias, &alias.mount_accessor, &alias.name, &alias.id)?,
            record(Kind::Entity, &entity.id, &entity)?,
        ])
        .await?;
        let renamed = !before.id.is_empty()
            && (before.mount_accessor != alias.mount_accessor
                || !before.name.eq_ignore_ascii_case(&alias.name));
        if renamed {
            self.remove(&name_key(Kind::Alias, &before.mount_accessor, &before.name))
                .await?;
        }
        if let Some(old) = moved_from {
            self.detach_alias(&old, &alias.id).await?;
        }
        Ok(alias)
    }

    async fn detach_alias(&self, entity_id: &str, alias_id: &str) -> Result<(), ApiError> {
        if let Some(mut old) = self.entity(entity_id).await? {
            old.alias_ids.retain(|a| a != alias_id);
            old.last_update_ms = crate::clock::unix_now_ms();
            self.commit(&[record(Kind::Entity, &old.id, &old)?]).await?;
        }
        Ok(())
    }

    /// Delete an entity alias (its entity stays). `false` if there was none.
    pub async fn delete_alias(&self, id: &str) -> Result<bool, ApiError> {
        let _guard = self.writes.lock().await;
        let Some(alias) = self.alias(id).await? else {
            return Ok(false);
        };
        self.drop_alias(&alias).await?;
        self.detach_alias(&alias.canonical_id, &alias.id).await?;
        Ok(true)
    }
}
