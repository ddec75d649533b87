//! The identity store's records as stored behind the barrier (`sys/identity/`): entities,
//! their aliases (one per auth mount accessor and name), groups and group aliases. Plain data;
//! `store.rs` reads and writes them, the path handlers shape them as Vault answers.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A string map (metadata).
pub type Meta = BTreeMap<String, String>;

/// An entity: one client, known to the identity store through its aliases.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Entity {
    pub id: String,
    pub name: String,
    #[serde(default)]
    pub metadata: Meta,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub disabled: bool,
    /// The entity's aliases, in creation order.
    #[serde(default)]
    pub alias_ids: Vec<String>,
    pub creation_ms: i64,
    pub last_update_ms: i64,
}

/// An entity alias: the name an auth mount knows the entity by.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Alias {
    pub id: String,
    /// The entity it belongs to.
    pub canonical_id: String,
    pub mount_accessor: String,
    pub name: String,
    /// Set by the auth method at each login (`service_account_namespace`, claims...).
    #[serde(default)]
    pub metadata: Meta,
    /// Set through the API only.
    #[serde(default)]
    pub custom_metadata: Meta,
    pub creation_ms: i64,
    pub last_update_ms: i64,
}

/// `internal` groups list their members; `external` ones get them from logins that assert
/// their group alias.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum GroupType {
    #[default]
    Internal,
    External,
}

impl GroupType {
    pub fn as_str(self) -> &'static str {
        match self {
            GroupType::Internal => "internal",
            GroupType::External => "external",
        }
    }
}

/// A group of entities (and of other groups), carrying policies to its members.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct Group {
    pub id: String,
    pub name: String,
    #[serde(rename = "type")]
    pub kind: GroupType,
    #[serde(default)]
    pub policies: Vec<String>,
    #[serde(default)]
    pub member_entity_ids: Vec<String>,
    /// Groups whose members are members of this one too (internal groups only).
    #[serde(default)]
    pub member_group_ids: Vec<String>,
    #[serde(default)]
    pub metadata: Meta,
    /// The group alias of an external group.
    #[serde(default)]
    pub alias_id: String,
    pub creation_ms: i64,
    pub last_update_ms: i64,
    #[serde(default)]
    pub modify_index: u64,
}

/// A group alias: the name an auth mount asserts (jwt's `groups_claim`) for an external group.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct GroupAlias {
    pub id: String,
    pub canonical_id: String,
    pub mount_accessor: String,
    pub name: String,
    pub creation_ms: i64,
    pub last_update_ms: i64,
}

/// Vault's timestamp form for the identity store (RFC 3339, nanoseconds when set).
pub fn timestamp(ms: i64) -> String {
    let t = std::time::UNIX_EPOCH + std::time::Duration::from_millis(ms.max(0) as u64);
    crate::clock::rfc3339(t)
}

/// Vault's default entity name, `entity_` and eight hex characters of a fresh id.
pub fn default_entity_name(id: &str) -> String {
    format!("entity_{}", id.get(..8).unwrap_or(id))
}

/// Vault's default group name, `group_` and eight hex characters of a fresh id.
pub fn default_group_name(id: &str) -> String {
    format!("group_{}", id.get(..8).unwrap_or(id))
}

/// Deduplicated, order kept (Vault's `RemoveDuplicates` without sorting).
pub fn dedup(items: Vec<String>) -> Vec<String> {
    let mut out: Vec<String> = Vec::with_capacity(items.len());
    for item in items {
        if !item.is_empty() && !out.contains(&item) {
            out.push(item);
        }
    }
    out
}
