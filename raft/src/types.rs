//! The openraft type configuration and the replicated command set.

use std::collections::BTreeMap;
use std::fmt;

use serde::{Deserialize, Serialize};

use crate::runtime::CofferRuntime;

/// Where a cluster member can be reached.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClusterNode {
    /// The node's client-facing API address (Vault's `api_addr`).
    pub api_addr: String,
    /// The node's cluster (Raft, forwarding) address (Vault's `cluster_addr`).
    pub cluster_addr: String,
}

/// A change to the replicated data. Keys are storage paths; values are opaque bytes (ciphertext
/// from the barrier — this crate never interprets them).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Command {
    /// Set `key` to `value`.
    Put {
        /// Storage path.
        key: String,
        /// Stored bytes.
        #[serde(with = "b64")]
        value: Vec<u8>,
    },
    /// Remove `key` (no error when absent).
    Delete {
        /// Storage path.
        key: String,
    },
    /// Several commands applied atomically, in order.
    Batch(Vec<Command>),
    /// Replace the whole data space with `pairs`, atomically, in one entry. Written by earlier
    /// versions (logs may still hold it); restores now travel as [`Command::StageRestore`]
    /// chunks and one [`Command::CommitRestore`], so no entry outgrows the entry limit.
    Restore {
        /// Storage paths and their stored bytes.
        #[serde(with = "b64_pairs")]
        pairs: Vec<(String, Vec<u8>)>,
    },
    /// Add `pairs` to the staging area of restore `id`: blind puts beside the data, invisible to
    /// reads until the restore commits (see [`crate::store`]'s restore module).
    StageRestore {
        /// The restore these pairs belong to.
        id: u64,
        /// Storage paths and their stored bytes.
        #[serde(with = "b64_pairs")]
        pairs: Vec<(String, Vec<u8>)>,
    },
    /// If restore `id` staged exactly `pairs` pairs, replace the whole data space with them;
    /// either way, empty every staging area. Takes effect only as a whole entry (alone or
    /// fenced), never inside a [`Command::Batch`].
    CommitRestore {
        /// The restore to commit.
        id: u64,
        /// How many distinct pairs it staged.
        pairs: u64,
    },
    /// Drop what restore `id` staged.
    AbortRestore {
        /// The restore to drop.
        id: u64,
    },
    /// `cmd`, applied only if its entry was proposed in Raft term `term`; otherwise a no-op on
    /// every node (the check reads only the entry, so all nodes agree). The node tags a request's
    /// writes with the term its active state was loaded in: a request that read the state of an
    /// earlier leadership cannot write under a later one (it might number a KV version twice).
    Fenced {
        /// The term the writer's view of the data belongs to.
        term: u64,
        /// What to apply.
        cmd: Box<Command>,
    },
}

/// Debug shows keys and sizes, never the bytes.
impl fmt::Debug for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl fmt::Display for Command {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Command::Put { key, value } => write!(f, "put {key} ({} bytes)", value.len()),
            Command::Delete { key } => write!(f, "delete {key}"),
            Command::Batch(cmds) => write!(f, "batch of {}", cmds.len()),
            Command::Restore { pairs } => write!(f, "restore of {} pairs", pairs.len()),
            Command::StageRestore { id, pairs } => {
                write!(f, "stage {} pairs for restore {id:016x}", pairs.len())
            }
            Command::CommitRestore { id, pairs } => {
                write!(f, "commit restore {id:016x} of {pairs} pairs")
            }
            Command::AbortRestore { id } => write!(f, "abort restore {id:016x}"),
            Command::Fenced { term, cmd } => write!(f, "{cmd} (term {term} only)"),
        }
    }
}

/// What applying a [`Command`] returns: whether it took effect.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Applied {
    /// A [`Command::Fenced`] whose entry belongs to another term: nothing changed.
    pub fenced_out: bool,
    /// A [`Command::CommitRestore`] that found fewer (or other) pairs staged than it expected
    /// (another restore's commit or an abort emptied them): the data space is unchanged.
    #[serde(default)]
    pub restore_incomplete: bool,
}

openraft::declare_raft_types!(
    /// Coffer's openraft type configuration.
    pub TypeConfig:
        D = Command,
        R = Applied,
        NodeId = u64,
        Node = ClusterNode,
        AsyncRuntime = CofferRuntime,
);

/// A Raft log id.
pub type LogId = openraft::LogId<openraft::impls::leader_id_adv::LeaderId<u64, u64>>;
/// A Raft log entry.
pub type Entry = <TypeConfig as openraft::RaftTypeConfig>::Entry;
/// A persisted vote.
pub type Vote = <TypeConfig as openraft::RaftTypeConfig>::Vote;
/// Membership as recorded by the state machine.
pub type StoredMembership = openraft::StoredMembership<
    openraft::impls::leader_id_adv::LeaderId<u64, u64>,
    u64,
    ClusterNode,
>;
/// Snapshot metadata.
pub type SnapshotMeta =
    openraft::SnapshotMeta<openraft::impls::leader_id_adv::LeaderId<u64, u64>, u64, ClusterNode>;
/// Snapshot bytes, as produced by [`crate::store::snapshot`] encoding.
pub type SnapshotData = Vec<u8>;
/// A snapshot: metadata plus bytes.
pub type Snapshot = openraft::Snapshot<
    openraft::impls::leader_id_adv::LeaderId<u64, u64>,
    u64,
    ClusterNode,
    SnapshotData,
>;
/// Cluster members by id.
pub type Members = BTreeMap<u64, ClusterNode>;

/// Serde for `Vec<u8>` as base64 text, so JSON log entries stay compact.
mod b64 {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD.decode(text).map_err(serde::de::Error::custom)
    }
}

/// Serde for `Vec<(String, Vec<u8>)>` as a list of `[key, base64]` pairs.
mod b64_pairs {
    use base64::engine::general_purpose::STANDARD;
    use base64::Engine as _;
    use serde::{Deserialize, Deserializer, Serialize, Serializer};

    pub fn serialize<S: Serializer>(pairs: &[(String, Vec<u8>)], s: S) -> Result<S::Ok, S::Error> {
        let encoded: Vec<(&str, String)> = pairs
            .iter()
            .map(|(k, v)| (k.as_str(), STANDARD.encode(v)))
            .collect();
        encoded.serialize(s)
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(
        d: D,
    ) -> Result<Vec<(String, Vec<u8>)>, D::Error> {
        let encoded = Vec::<(String, String)>::deserialize(d)?;
        encoded
            .into_iter()
            .map(|(k, v)| {
                let v = STANDARD.decode(v).map_err(serde::de::Error::custom)?;
                Ok((k, v))
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn command_round_trips_and_hides_bytes() {
        let cmd = Command::Batch(vec![
            Command::Put {
                key: "secret/a".into(),
                value: vec![0, 1, 2, 255],
            },
            Command::Delete {
                key: "secret/b".into(),
            },
        ]);
        let json = serde_json::to_string(&cmd).unwrap();
        assert!(json.contains("AAEC/w=="), "value is base64: {json}");
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), cmd);
        let put = Command::Put {
            key: "k".into(),
            value: b"topsecret".to_vec(),
        };
        assert_eq!(format!("{put:?}"), "put k (9 bytes)");
    }

    #[test]
    fn restore_round_trips_and_hides_bytes() {
        let cmd = Command::Restore {
            pairs: vec![("a".into(), vec![0, 1, 2, 255]), ("b".into(), Vec::new())],
        };
        let json = serde_json::to_string(&cmd).unwrap();
        assert!(json.contains("AAEC/w=="), "value is base64: {json}");
        assert_eq!(serde_json::from_str::<Command>(&json).unwrap(), cmd);
        assert_eq!(format!("{cmd:?}"), "restore of 2 pairs");
    }
}
