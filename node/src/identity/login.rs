//! What a login does to the identity store (Vault's `CreateOrFetchEntity` and external group
//! membership): the alias the auth method names is found or created with a new entity, its
//! metadata refreshed from the method, and the entity joins the external groups whose group
//! aliases the method asserts on this mount (and leaves those it no longer asserts).

use super::records::{Alias, Entity, GroupType, Meta};
use super::store::{index, record, IdentityStore, Kind};
use crate::error::ApiError;
use std::collections::BTreeSet;

impl IdentityStore {
    /// The entity of the alias `name` on the auth mount `accessor`, made on first login.
    pub async fn login(
        &self,
        accessor: &str,
        name: &str,
        metadata: &Meta,
        group_aliases: &[String],
    ) -> Result<Entity, ApiError> {
        let _guard = self.writes.lock().await;
        let entity = self.login_alias(accessor, name, metadata).await?;
        self.sync_external_groups(accessor, &entity.id, group_aliases)
            .await?;
        Ok(entity)
    }

    async fn login_alias(
        &self,
        accessor: &str,
        name: &str,
        metadata: &Meta,
    ) -> Result<Entity, ApiError> {
        let now = crate::clock::unix_now_ms();
        let found = self.alias_by_factors(accessor, name).await?;
        if let Some(mut alias) = found.clone() {
            if let Some(entity) = self.entity(&alias.canonical_id).await? {
                if alias.metadata != *metadata {
                    alias.metadata = metadata.clone();
                    alias.last_update_ms = now;
                    self.commit(&[record(Kind::Alias, &alias.id, &alias)?])
                        .await?;
                }
                return Ok(entity);
            }
        }
        // A new alias, or one whose entity is gone: a new entity holds it.
        let mut entity = Entity::default();
        self.save_entity(&mut entity, "").await?;
        let alias = Alias {
            id: found.map(|a| a.id).unwrap_or_else(crate::ids::uuid),
            canonical_id: entity.id.clone(),
            mount_accessor: accessor.to_string(),
            name: name.to_string(),
            metadata: metadata.clone(),
            custom_metadata: Meta::new(),
            creation_ms: now,
            last_update_ms: now,
        };
        entity.alias_ids.push(alias.id.clone());
        self.commit(&[
            record(Kind::Alias, &alias.id, &alias)?,
            index(Kind::Alias, accessor, name, &alias.id)?,
            record(Kind::Entity, &entity.id, &entity)?,
        ])
        .await?;
        Ok(entity)
    }

    /// Membership of the external groups aliased on this mount follows what the login asserts.
    async fn sync_external_groups(
        &self,
        accessor: &str,
        entity_id: &str,
        asserted: &[String],
    ) -> Result<(), ApiError> {
        let asserted: BTreeSet<String> = asserted.iter().map(|s| s.to_lowercase()).collect();
        for alias in self.group_aliases_on(accessor).await? {
            let Some(mut group) = self.group(&alias.canonical_id).await? else {
                continue;
            };
            if group.kind != GroupType::External {
                continue;
            }
            let member = group.member_entity_ids.iter().any(|m| m == entity_id);
            let wanted = asserted.contains(&alias.name.to_lowercase());
            if member == wanted {
                continue;
            }
            if wanted {
                group.member_entity_ids.push(entity_id.to_string());
            } else {
                group.member_entity_ids.retain(|m| m != entity_id);
            }
            let name = group.name.clone();
            self.save_group(&mut group, &name).await?;
        }
        Ok(())
    }
}
