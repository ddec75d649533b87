//! # coffer-raft
//!
//! Replication for Coffer: openraft (0.10, v2 storage traits) over a storage [`Engine`].
//! It **knows bytes, not secrets**: commands carry storage paths and opaque values (the
//! barrier's ciphertext), and nothing here can or tries to decrypt them.
//!
//! This crate owns:
//! - [`CofferRuntime`], openraft's `AsyncRuntime` written against the renamed `tokio` crate, the
//!   same code in the normal build and under `--cfg madsim` (no OS threads, no wall clock,
//!   randomness from getrandom 0.3 only);
//! - the [`Engine`] trait (ordered key spaces, atomic batches, explicit sync) with
//!   [`RocksEngine`] (production; not built under madsim) and [`MemEngine`] (simulation and
//!   tests, with crash semantics), and [`engine_suite`], the suite both pass;
//! - the openraft type configuration ([`TypeConfig`], [`Command`], [`ClusterNode`]), the log
//!   store and state machine on an engine, snapshots;
//! - the network seam: [`UnreachableNetwork`] for a single node, and the cluster [`transport`]
//!   (tonic gRPC, mutual TLS outside simulation; madsim's simulated tonic under `--cfg madsim`);
//! - [`RaftHandle`], what the node crate drives: start, bootstrap, write, read, list, read index,
//!   membership (add voters and learners, remove), leadership hand-over, snapshots.
//!
//! It must never import `coffer-barrier`, `coffer-seal` or `coffer-node`: the dependency points
//! the other way, and node owns the adapter from the barrier's `Physical` to [`RaftHandle`].

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod engine;
mod error;
mod list;
pub mod mutant;
pub mod network;
mod node;
pub mod runtime;
mod stats;
pub mod store;
pub mod transport;
mod types;

pub use engine::memory::MemEngine;
#[cfg(not(madsim))]
pub use engine::rocks::RocksEngine;
pub use engine::suite::engine_suite;
pub use engine::{Engine, EngineError, Op, Pair, Space, WriteBatch};
pub use error::RaftError;
pub use list::immediate_children;
pub use network::UnreachableNetwork;
pub use node::{ClusterMember, CofferRaft, PeerHealth, RaftConfig, RaftHandle, RaftStatus, Role};
pub use runtime::CofferRuntime;
pub use stats::{ApplyObserver, RaftStats};
pub use transport::{ClientTls, GrpcNetwork, ServerTls, TransportError};
pub use types::{
    Applied, ClusterNode, Command, Entry, LogId, Members, Snapshot, SnapshotData, SnapshotMeta,
    StoredMembership, TypeConfig, Vote,
};
