//! Changes to groups and group aliases, each under the store's lock, with Vault's rules and
//! messages: names unique, the type fixed once set, members only on internal groups, member
//! groups that exist and make no cycle, one alias per external group.

use super::records::{dedup, default_group_name, Group, GroupAlias, GroupType, Meta};
use super::store::{index, name_key, record, IdentityStore, Kind};
use crate::error::ApiError;
use std::collections::BTreeSet;

/// The fields a group write may set; `None` leaves a field as it is.
#[derive(Debug, Default, Clone)]
pub struct GroupInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub kind: Option<String>,
    pub metadata: Option<Meta>,
    pub policies: Option<Vec<String>>,
    pub member_entity_ids: Option<Vec<String>>,
    pub member_group_ids: Option<Vec<String>>,
}

/// The fields a group-alias write may set.
#[derive(Debug, Default, Clone)]
pub struct GroupAliasInput {
    pub id: Option<String>,
    pub name: Option<String>,
    pub mount_accessor: Option<String>,
    pub canonical_id: Option<String>,
}

impl IdentityStore {
    /// The group a write names: by id (which must exist), else by name (new when none).
    async fn group_to_write(&self, input: &GroupInput) -> Result<Group, ApiError> {
        if let Some(id) = input.id.as_deref().filter(|s| !s.is_empty()) {
            return self
                .group(id)
                .await?
                .ok_or_else(|| ApiError::bad("invalid group ID"));
        }
        match input.name.as_deref().filter(|s| !s.is_empty()) {
            Some(name) => Ok(self.group_by_name(name).await?.unwrap_or_default()),
            None => Ok(Group::default()),
        }
    }

    /// Create or update a group (Vault's `handleGroupUpdateCommon`). Returns it and whether it
    /// is new.
    pub async fn write_group(&self, input: GroupInput) -> Result<(Group, bool), ApiError> {
        let _guard = self.writes.lock().await;
        let mut group = self.group_to_write(&input).await?;
        let new = group.id.is_empty();
        let old_name = group.name.clone();
        if let Some(policies) = input.policies {
            group.policies = dedup(policies.into_iter().map(|p| p.to_lowercase()).collect());
        }
        if group.policies.iter().any(|p| p == "root") {
            return Err(ApiError::bad("policies cannot contain root"));
        }
        if let Some(kind) = input.kind.filter(|s| !s.is_empty()) {
            let kind = match kind.as_str() {
                "internal" => GroupType::Internal,
                "external" => GroupType::External,
                other => return Err(ApiError::bad(format!("invalid group type {other:?}"))),
            };
            if !new && kind != group.kind {
                return Err(ApiError::bad("group type cannot be changed"));
            }
            group.kind = kind;
        }
        if let Some(name) = input.name.filter(|s| !s.is_empty()) {
            if let Some(found) = self.group_by_name(&name).await? {
                if found.id != group.id {
                    return Err(ApiError::bad("group name is already in use"));
                }
            }
            group.name = name;
        }
        if let Some(metadata) = input.metadata {
            group.metadata = metadata;
        }
        self.set_members(&mut group, input.member_entity_ids, input.member_group_ids)
            .await?;
        self.save_group(&mut group, &old_name).await?;
        Ok((group, new))
    }

    async fn set_members(
        &self,
        group: &mut Group,
        entities: Option<Vec<String>>,
        groups: Option<Vec<String>>,
    ) -> Result<(), ApiError> {
        let external = group.kind == GroupType::External;
        if let Some(ids) = entities {
            if external {
                return Err(ApiError::bad(
                    "member entities can't be set manually for external groups",
                ));
            }
            let ids = dedup(ids);
            for id in &ids {
                if self.entity(id).await?.is_none() {
                    return Err(ApiError::bad(format!("invalid entity ID {id:?}")));
                }
            }
            group.member_entity_ids = ids;
        }
        if let Some(ids) = groups {
            if external {
                return Err(ApiError::bad(
                    "member groups can't be set for external groups",
                ));
            }
            let ids = dedup(ids);
            for id in &ids {
                if self.group(id).await?.is_none() {
                    return Err(ApiError::bad(format!("invalid member group ID {id:?}")));
                }
            }
            if !group.id.is_empty() && self.reaches(&ids, &group.id).await? {
                return Err(ApiError::bad(format!(
                    "cyclic relationship detected for member group ID {:?}",
                    group.id
                )));
            }
            group.member_group_ids = ids;
        }
        Ok(())
    }

    /// Whether `target` is among `start` or their member groups, transitively.
    async fn reaches(&self, start: &[String], target: &str) -> Result<bool, ApiError> {
        let mut seen = BTreeSet::new();
        let mut todo: Vec<String> = start.to_vec();
        while let Some(id) = todo.pop() {
            if id == target {
                return Ok(true);
            }
            if !seen.insert(id.clone()) {
                continue;
            }
            if let Some(g) = self.group(&id).await? {
                todo.extend(g.member_group_ids);
            }
        }
        Ok(false)
    }

    pub(super) async fn save_group(
        &self,
        group: &mut Group,
        old_name: &str,
    ) -> Result<(), ApiError> {
        let now = crate::clock::unix_now_ms();
        if group.id.is_empty() {
            group.id = crate::ids::uuid();
            group.creation_ms = now;
        }
        if group.name.is_empty() {
            group.name = default_group_name(&group.id);
        }
        group.last_update_ms = now;
        group.modify_index += 1;
        self.commit(&[
            record(Kind::Group, &group.id, &*group)?,
            index(Kind::Group, "", &group.name, &group.id)?,
        ])
        .await?;
        if !old_name.is_empty() && !old_name.eq_ignore_ascii_case(&group.name) {
            self.remove(&name_key(Kind::Group, "", old_name)).await?;
        }
        Ok(())
    }

    /// Delete a group by id (with its alias); other groups stop listing it as a member.
    pub async fn delete_group(&self, id: &str) -> Result<bool, ApiError> {
        let _guard = self.writes.lock().await;
        let Some(group) = self.group(id).await? else {
            return Ok(false);
        };
        self.remove(&format!("group/{id}")).await?;
        self.remove(&name_key(Kind::Group, "", &group.name)).await?;
        if let Some(alias) = self.group_alias(&group.alias_id).await? {
            self.drop_group_alias(&alias).await?;
        }
        for mut parent in self.groups().await? {
            if parent.member_group_ids.iter().any(|m| m == id) {
                parent.member_group_ids.retain(|m| m != id);
                let name = parent.name.clone();
                self.save_group(&mut parent, &name).await?;
            }
        }
        Ok(true)
    }

    async fn drop_group_alias(&self, alias: &GroupAlias) -> Result<(), ApiError> {
        self.remove(&format!("group-alias/{}", alias.id)).await?;
        let key = name_key(Kind::GroupAlias, &alias.mount_accessor, &alias.name);
        self.remove(&key).await
    }

    /// Create or update a group alias: it names an external group on one auth mount.
    pub async fn write_group_alias(
        &self,
        input: GroupAliasInput,
        mount_known: impl Fn(&str) -> bool,
    ) -> Result<GroupAlias, ApiError> {
        let _guard = self.writes.lock().await;
        let mut alias = match input.id.as_deref().filter(|s| !s.is_empty()) {
            Some(id) => self
                .group_alias(id)
                .await?
                .ok_or_else(|| ApiError::bad("invalid group alias ID"))?,
            None => GroupAlias::default(),
        };
        let before = alias.clone();
        if let Some(name) = input.name.filter(|s| !s.is_empty()) {
            alias.name = name;
        }
        if let Some(accessor) = input.mount_accessor.filter(|s| !s.is_empty()) {
            alias.mount_accessor = accessor;
        }
        if alias.name.is_empty() {
            return Err(ApiError::bad("missing alias name"));
        }
        if !mount_known(&alias.mount_accessor) {
            return Err(ApiError::bad(format!(
                "invalid mount accessor {:?}",
                alias.mount_accessor
            )));
        }
        if let Some(other) = self
            .group_alias_by_factors(&alias.mount_accessor, &alias.name)
            .await?
        {
            if other.id != alias.id {
                return Err(ApiError::bad(
                    "combination of mount and group alias name is already in use",
                ));
            }
        }
        let canonical = input.canonical_id.filter(|s| !s.is_empty());
        self.attach_group_alias(alias, &before, canonical).await
    }

    async fn attach_group_alias(
        &self,
        mut alias: GroupAlias,
        before: &GroupAlias,
        canonical: Option<String>,
    ) -> Result<GroupAlias, ApiError> {
        let mut group =
            match canonical.or(Some(alias.canonical_id.clone()).filter(|s| !s.is_empty())) {
                Some(id) => self
                    .group(&id)
                    .await?
                    .ok_or_else(|| ApiError::bad("invalid group ID given in 'canonical_id'"))?,
                None => Group {
                    kind: GroupType::External,
                    ..Group::default()
                },
            };
        if group.kind != GroupType::External {
            return Err(ApiError::bad("alias can't be set on an internal group"));
        }
        if !group.alias_id.is_empty() && group.alias_id != alias.id && !group.id.is_empty() {
            return Err(ApiError::bad("group already has an alias"));
        }
        let now = crate::clock::unix_now_ms();
        if alias.id.is_empty() {
            alias.id = crate::ids::uuid();
            alias.creation_ms = now;
        }
        alias.last_update_ms = now;
        group.alias_id = alias.id.clone();
        let name = group.name.clone();
        self.save_group(&mut group, &name).await?;
        alias.canonical_id = group.id.clone();
        self.commit(&[
            record(Kind::GroupAlias, &alias.id, &alias)?,
            index(
                Kind::GroupAlias,
                &alias.mount_accessor,
                &alias.name,
                &alias.id,
            )?,
        ])
        .await?;
        let renamed = !before.id.is_empty()
            && (before.mount_accessor != alias.mount_accessor
                || !before.name.eq_ignore_ascii_case(&alias.name));
        if renamed {
            let key = name_key(Kind::GroupAlias, &before.mount_accessor, &before.name);
            self.remove(&key).await?;
        }
        Ok(alias)
    }

    /// Delete a group alias; its group stays, without an alias.
    pub async fn delete_group_alias(&self, id: &str) -> Result<bool, ApiError> {
        let _guard = self.writes.lock().await;
        let Some(alias) = self.group_alias(id).await? else {
            return Ok(false);
        };
        self.drop_group_alias(&alias).await?;
        if let Some(mut group) = self.group(&alias.canonical_id).await? {
            if group.alias_id == alias.id {
                group.alias_id.clear();
                let name = group.name.clone();
                self.save_group(&mut group, &name).await?;
            }
        }
        Ok(true)
    }
}
