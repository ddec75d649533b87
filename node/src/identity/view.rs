//! What a caller's identity adds to its token at request time: the policies of its entity and
//! of every group it belongs to (directly, or through a group that lists one of its groups as
//! a member), and the `IdentityView` that fills templated policy rules. Read afresh for every
//! request, so a change to an entity or group applies to tokens already issued, as in Vault.

use super::records::{Entity, Group};
use super::store::IdentityStore;
use crate::error::ApiError;
use crate::policy::{AliasView, GroupView, IdentityView};
use std::collections::BTreeSet;

/// An entity with what follows from it.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub entity: Entity,
    /// Groups listing the entity as a member.
    pub direct_groups: Vec<Group>,
    /// Groups that hold a direct (or inherited) group as a member.
    pub inherited_groups: Vec<Group>,
}

impl Resolved {
    /// The entity's and its groups' policies, sorted, without duplicates (never `root`).
    pub fn policies(&self) -> Vec<String> {
        let groups = self.direct_groups.iter().chain(&self.inherited_groups);
        let all: BTreeSet<String> = self
            .entity
            .policies
            .iter()
            .chain(groups.flat_map(|g| g.policies.iter()))
            .filter(|p| !p.eq_ignore_ascii_case("root"))
            .cloned()
            .collect();
        all.into_iter().collect()
    }
}

/// Direct groups of `entity_id`, then the groups above them (each once).
pub fn memberships(groups: &[Group], entity_id: &str) -> (Vec<Group>, Vec<Group>) {
    let direct: Vec<Group> = groups
        .iter()
        .filter(|g| g.member_entity_ids.iter().any(|m| m == entity_id))
        .cloned()
        .collect();
    let mut reached: BTreeSet<String> = direct.iter().map(|g| g.id.clone()).collect();
    let mut inherited = Vec::new();
    loop {
        let next: Vec<Group> = groups
            .iter()
            .filter(|g| !reached.contains(&g.id))
            .filter(|g| g.member_group_ids.iter().any(|m| reached.contains(m)))
            .cloned()
            .collect();
        if next.is_empty() {
            return (direct, inherited);
        }
        reached.extend(next.iter().map(|g| g.id.clone()));
        inherited.extend(next);
    }
}

impl IdentityStore {
    /// The entity `id` with its groups, or `None` if it does not exist.
    pub async fn resolve(&self, id: &str) -> Result<Option<Resolved>, ApiError> {
        let Some(entity) = self.entity(id).await? else {
            return Ok(None);
        };
        let groups = self.groups().await?;
        let (direct_groups, inherited_groups) = memberships(&groups, &entity.id);
        Ok(Some(Resolved {
            entity,
            direct_groups,
            inherited_groups,
        }))
    }

    /// The view templated policies are filled from.
    pub async fn template_view(&self, resolved: &Resolved) -> Result<IdentityView, ApiError> {
        let entity = &resolved.entity;
        let aliases = self
            .aliases_of(entity)
            .await?
            .into_iter()
            .map(|a| {
                let view = AliasView {
                    id: a.id,
                    name: a.name,
                    metadata: a.metadata,
                    custom_metadata: a.custom_metadata,
                };
                (a.mount_accessor, view)
            })
            .collect();
        let groups = resolved
            .direct_groups
            .iter()
            .chain(&resolved.inherited_groups)
            .map(|g| GroupView {
                id: g.id.clone(),
                name: g.name.clone(),
                metadata: g.metadata.clone(),
            })
            .collect();
        Ok(IdentityView {
            entity_id: entity.id.clone(),
            entity_name: entity.name.clone(),
            metadata: entity.metadata.clone(),
            aliases,
            groups,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn group(id: &str, entities: &[&str], groups: &[&str], policies: &[&str]) -> Group {
        let owned = |s: &[&str]| s.iter().map(|x| x.to_string()).collect();
        Group {
            id: id.into(),
            name: id.into(),
            member_entity_ids: owned(entities),
            member_group_ids: owned(groups),
            policies: owned(policies),
            ..Group::default()
        }
    }

    #[test]
    fn groups_above_a_direct_group_are_inherited_once_even_in_a_cycle() {
        let groups = vec![
            group("a", &["e1"], &[], &["pa"]),
            group("b", &[], &["a"], &["pb"]),
            group("c", &[], &["b", "a"], &["pc"]),
            group("d", &["e2"], &["c"], &["pd"]),
            group("x", &["e2"], &[], &["root"]),
        ];
        let (direct, inherited) = memberships(&groups, "e1");
        let ids = |gs: &[Group]| gs.iter().map(|g| g.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&direct), vec!["a"]);
        assert_eq!(ids(&inherited), vec!["b", "c", "d"]);
        let resolved = Resolved {
            entity: Entity {
                id: "e1".into(),
                policies: vec!["pe".into(), "pa".into()],
                ..Entity::default()
            },
            direct_groups: direct,
            inherited_groups: inherited,
        };
        assert_eq!(resolved.policies(), vec!["pa", "pb", "pc", "pd", "pe"]);
        let (direct, _) = memberships(&groups, "e2");
        let e2 = Resolved {
            entity: Entity::default(),
            direct_groups: direct,
            inherited_groups: vec![],
        };
        assert_eq!(e2.policies(), vec!["pd"], "root never comes from a group");
        assert!(memberships(&groups, "nobody").0.is_empty());
    }
}
