//! Capabilities and the small bit set that holds them.
//!
//! Names are case-sensitive, as in Vault: `"Read"` is not a capability.

use std::fmt;

/// One capability a policy rule can grant on a path.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Capability {
    Create,
    Read,
    Update,
    Patch,
    Delete,
    List,
    Sudo,
    Deny,
    Subscribe,
    Recover,
}

impl Capability {
    /// Every capability, in declaration order.
    pub const ALL: [Capability; 10] = [
        Capability::Create,
        Capability::Read,
        Capability::Update,
        Capability::Patch,
        Capability::Delete,
        Capability::List,
        Capability::Sudo,
        Capability::Deny,
        Capability::Subscribe,
        Capability::Recover,
    ];

    /// The name used in policies and in `sys/capabilities` answers.
    pub fn as_str(self) -> &'static str {
        match self {
            Capability::Create => "create",
            Capability::Read => "read",
            Capability::Update => "update",
            Capability::Patch => "patch",
            Capability::Delete => "delete",
            Capability::List => "list",
            Capability::Sudo => "sudo",
            Capability::Deny => "deny",
            Capability::Subscribe => "subscribe",
            Capability::Recover => "recover",
        }
    }

    /// The capability spelled exactly `name`, if any.
    pub fn from_name(name: &str) -> Option<Capability> {
        Capability::ALL.into_iter().find(|c| c.as_str() == name)
    }

    fn bit(self) -> u16 {
        1 << (self as u16)
    }
}

impl fmt::Display for Capability {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of capabilities. Invariant kept by the parser and by merging: a set
/// that holds `deny` holds nothing else.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct CapabilitySet(u16);

impl CapabilitySet {
    /// No capability at all.
    pub const EMPTY: CapabilitySet = CapabilitySet(0);

    /// The set holding only `deny`.
    pub fn deny() -> CapabilitySet {
        CapabilitySet(Capability::Deny.bit())
    }

    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether `deny` is in the set (then it denies everything).
    pub fn is_deny(self) -> bool {
        self.contains(Capability::Deny)
    }

    pub fn contains(self, capability: Capability) -> bool {
        self.0 & capability.bit() != 0
    }

    pub fn insert(&mut self, capability: Capability) {
        self.0 |= capability.bit();
    }

    pub fn union(self, other: CapabilitySet) -> CapabilitySet {
        CapabilitySet(self.0 | other.0)
    }

    pub fn iter(self) -> impl Iterator<Item = Capability> {
        Capability::ALL
            .into_iter()
            .filter(move |c| self.contains(*c))
    }

    /// The capability names, sorted alphabetically.
    pub fn names(self) -> Vec<&'static str> {
        let mut names: Vec<&'static str> = self.iter().map(Capability::as_str).collect();
        names.sort_unstable();
        names
    }
}

impl FromIterator<Capability> for CapabilitySet {
    fn from_iter<I: IntoIterator<Item = Capability>>(iter: I) -> Self {
        let mut set = CapabilitySet::EMPTY;
        for capability in iter {
            set.insert(capability);
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for capability in Capability::ALL {
            assert_eq!(Capability::from_name(capability.as_str()), Some(capability));
        }
        assert_eq!(Capability::from_name("Read"), None);
        assert_eq!(Capability::from_name("write"), None);
    }

    #[test]
    fn set_operations() {
        let set: CapabilitySet = [Capability::Read, Capability::List].into_iter().collect();
        assert!(set.contains(Capability::Read));
        assert!(!set.contains(Capability::Update));
        assert!(!set.is_deny());
        assert_eq!(set.names(), vec!["list", "read"]);
        let more = set.union([Capability::Create].into_iter().collect());
        assert_eq!(more.names(), vec!["create", "list", "read"]);
        assert!(CapabilitySet::deny().is_deny());
        assert!(CapabilitySet::EMPTY.is_empty());
    }
}
