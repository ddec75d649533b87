//! Identity templating in policy paths (Vault's `identitytpl` in ACL mode).
//!
//! A rule's path may hold `{{identity...}}` parameters, filled from the caller's entity and
//! groups when its ACL is built. [`parse_template`] checks the syntax when a policy is written
//! (unknown parameters and unbalanced braces are refused); [`render`] fills a parsed path from
//! an [`IdentityView`] and answers `None` when a value is missing, which makes the rule not
//! apply to that caller, as in Vault. Pure: no storage, no clock.

use std::collections::BTreeMap;

use thiserror::Error;

/// Why a templated path cannot be parsed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum TemplateError {
    #[error("unbalanced template braces")]
    Unbalanced,
    #[error("empty template")]
    Empty,
    #[error("unknown template parameter {0:?}")]
    UnknownParameter(String),
}

/// One identity parameter a path may name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Param {
    EntityId,
    EntityName,
    EntityMetadata(String),
    AliasId(String),
    AliasName(String),
    AliasMetadata { accessor: String, key: String },
    AliasCustomMetadata { accessor: String, key: String },
    GroupNameById(String),
    GroupIdByName(String),
    GroupMetadataById { id: String, key: String },
    GroupMetadataByName { name: String, key: String },
}

/// A path split into literal text and parameters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Piece {
    Text(String),
    Param(Param),
}

/// An entity alias as templates see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AliasView {
    pub id: String,
    pub name: String,
    pub metadata: BTreeMap<String, String>,
    pub custom_metadata: BTreeMap<String, String>,
}

/// A group the entity belongs to (directly or through a parent), as templates see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GroupView {
    pub id: String,
    pub name: String,
    pub metadata: BTreeMap<String, String>,
}

/// What a caller's templated rules are filled from: its entity, its aliases by mount
/// accessor, and its groups. Built by the identity store; plain data here.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IdentityView {
    pub entity_id: String,
    pub entity_name: String,
    pub metadata: BTreeMap<String, String>,
    pub aliases: BTreeMap<String, AliasView>,
    pub groups: Vec<GroupView>,
}

/// Whether `path` uses templating at all (an opening or closing brace pair).
pub fn is_templated(path: &str) -> bool {
    path.contains("{{") || path.contains("}}")
}

/// Split a path into text and parameters; spaces inside the braces are ignored.
pub fn parse_template(path: &str) -> Result<Vec<Piece>, TemplateError> {
    let mut pieces = Vec::new();
    let mut rest = path;
    while let Some(open) = rest.find("{{") {
        let (text, after) = rest.split_at(open);
        if text.contains("}}") {
            return Err(TemplateError::Unbalanced);
        }
        push_text(&mut pieces, text);
        let after = &after[2..];
        let close = after.find("}}").ok_or(TemplateError::Unbalanced)?;
        let inner = &after[..close];
        if inner.contains("{{") {
            return Err(TemplateError::Unbalanced);
        }
        pieces.push(Piece::Param(parse_param(inner.trim())?));
        rest = &after[close + 2..];
    }
    if rest.contains("}}") {
        return Err(TemplateError::Unbalanced);
    }
    push_text(&mut pieces, rest);
    Ok(pieces)
}

fn push_text(pieces: &mut Vec<Piece>, text: &str) {
    if !text.is_empty() {
        pieces.push(Piece::Text(text.to_owned()));
    }
}

fn parse_param(name: &str) -> Result<Param, TemplateError> {
    if name.is_empty() {
        return Err(TemplateError::Empty);
    }
    let unknown = || TemplateError::UnknownParameter(name.to_owned());
    let nonempty = |s: &str| (!s.is_empty()).then(|| s.to_owned()).ok_or_else(unknown);
    match name {
        "identity.entity.id" => return Ok(Param::EntityId),
        "identity.entity.name" => return Ok(Param::EntityName),
        _ => {}
    }
    if let Some(key) = name.strip_prefix("identity.entity.metadata.") {
        return Ok(Param::EntityMetadata(nonempty(key)?));
    }
    if let Some(rest) = name.strip_prefix("identity.entity.aliases.") {
        return alias_param(rest).ok_or_else(unknown);
    }
    if let Some(rest) = name.strip_prefix("identity.groups.ids.") {
        return group_param(rest, true).ok_or_else(unknown);
    }
    if let Some(rest) = name.strip_prefix("identity.groups.names.") {
        return group_param(rest, false).ok_or_else(unknown);
    }
    Err(unknown())
}

/// `<accessor>.id`, `<accessor>.name`, `<accessor>.metadata.<key>`,
/// `<accessor>.custom_metadata.<key>` (accessors hold no dots).
fn alias_param(rest: &str) -> Option<Param> {
    let (accessor, field) = rest.split_once('.')?;
    if accessor.is_empty() {
        return None;
    }
    let accessor = accessor.to_owned();
    let key = |k: &str| (!k.is_empty()).then(|| k.to_owned());
    match field {
        "id" => Some(Param::AliasId(accessor)),
        "name" => Some(Param::AliasName(accessor)),
        _ => {
            if let Some(k) = field.strip_prefix("metadata.") {
                return Some(Param::AliasMetadata {
                    accessor,
                    key: key(k)?,
                });
            }
            let k = field.strip_prefix("custom_metadata.")?;
            Some(Param::AliasCustomMetadata {
                accessor,
                key: key(k)?,
            })
        }
    }
}

/// `ids.<id>.name`, `ids.<id>.metadata.<key>`, `names.<name>.id`, `names.<name>.metadata.<key>`.
fn group_param(rest: &str, by_id: bool) -> Option<Param> {
    if let Some((group, key)) = rest.split_once(".metadata.") {
        if group.is_empty() || key.is_empty() {
            return None;
        }
        let (group, key) = (group.to_owned(), key.to_owned());
        return Some(if by_id {
            Param::GroupMetadataById { id: group, key }
        } else {
            Param::GroupMetadataByName { name: group, key }
        });
    }
    let (suffix, make): (&str, fn(String) -> Param) = if by_id {
        (".name", Param::GroupNameById)
    } else {
        (".id", Param::GroupIdByName)
    };
    let group = rest.strip_suffix(suffix).filter(|g| !g.is_empty())?;
    Some(make(group.to_owned()))
}

/// The path with every parameter filled, or `None` when the caller has no entity or lacks
/// a value the path names.
pub fn render(pieces: &[Piece], identity: Option<&IdentityView>) -> Option<String> {
    let identity = identity?;
    let mut out = String::new();
    for piece in pieces {
        match piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Param(param) => out.push_str(value(param, identity)?),
        }
    }
    Some(out)
}

fn value<'a>(param: &Param, id: &'a IdentityView) -> Option<&'a str> {
    let group_by_id = |gid: &str| id.groups.iter().find(|g| g.id == gid);
    let group_by_name = |name: &str| id.groups.iter().find(|g| g.name == name);
    let found = match param {
        Param::EntityId => Some(id.entity_id.as_str()),
        Param::EntityName => Some(id.entity_name.as_str()),
        Param::EntityMetadata(key) => id.metadata.get(key).map(String::as_str),
        Param::AliasId(acc) => id.aliases.get(acc).map(|a| a.id.as_str()),
        Param::AliasName(acc) => id.aliases.get(acc).map(|a| a.name.as_str()),
        Param::AliasMetadata { accessor, key } => id
            .aliases
            .get(accessor)
            .and_then(|a| a.metadata.get(key))
            .map(String::as_str),
        Param::AliasCustomMetadata { accessor, key } => id
            .aliases
            .get(accessor)
            .and_then(|a| a.custom_metadata.get(key))
            .map(String::as_str),
        Param::GroupNameById(gid) => group_by_id(gid).map(|g| g.name.as_str()),
        Param::GroupIdByName(name) => group_by_name(name).map(|g| g.id.as_str()),
        Param::GroupMetadataById { id: gid, key } => group_by_id(gid)
            .and_then(|g| g.metadata.get(key))
            .map(String::as_str),
        Param::GroupMetadataByName { name, key } => group_by_name(name)
            .and_then(|g| g.metadata.get(key))
            .map(String::as_str),
    };
    found.filter(|v| !v.is_empty())
}

#[cfg(test)]
#[path = "template_tests.rs"]
mod tests;
