//! openraft's v2 storage over one [`Engine`]: the log store ([`LogStore`]) and the state
//! machine ([`StateMachine`]), plus the snapshot byte format.
//!
//! Layout: `Space::Log` holds entries keyed by big-endian index (JSON values); `Space::Meta`
//! holds the keys in [`keys`]; `Space::Data` holds the replicated pairs exactly as commands wrote
//! them. Anything that must survive before openraft is told "done" (log entries, the vote, a
//! truncation, an installed snapshot) is written with `sync`.

mod flush;
mod log;
pub mod restore;
pub mod snapshot;
mod state_machine;

use std::io;
use std::sync::Arc;

use openraft::AsyncRuntime;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::engine::{Engine, EngineError, Space, WriteBatch};
use crate::runtime::CofferRuntime;

pub use log::LogStore;
pub use state_machine::{SnapshotBuilder, StateMachine};

/// Keys in `Space::Meta`.
pub mod keys {
    /// The vote (JSON).
    pub const VOTE: &[u8] = b"raft/vote";
    /// The last known committed log id (JSON), saved without sync.
    pub const COMMITTED: &[u8] = b"raft/committed";
    /// The log id of the last purged entry (JSON).
    pub const LAST_PURGED: &[u8] = b"raft/last_purged";
    /// The last log id applied to `Space::Data` (JSON).
    pub const APPLIED: &[u8] = b"sm/applied";
    /// The last membership applied (JSON).
    pub const MEMBERSHIP: &[u8] = b"sm/membership";
    /// The current snapshot's metadata (JSON).
    pub const SNAPSHOT_META: &[u8] = b"snapshot/meta";
    /// A copy of a snapshot's bytes, which stores kept before snapshots became fuzzy (see
    /// [`super::StateMachine`]); no longer written, and deleted by the next snapshot.
    pub const SNAPSHOT_DATA: &[u8] = b"snapshot/data";
}

/// The `Space::Log` key of entry `index`: big-endian, so byte order is index order.
pub(crate) fn log_key(index: u64) -> [u8; 8] {
    index.to_be_bytes()
}

/// Wait out the engine's [`Engine::sync_latency`] before a sync starts (no wait on a real
/// disk). Writes made meanwhile are unsynced all that time, so a crash in it loses them: the
/// unsynced window the simulation's slow disks open.
pub(crate) async fn disk_wait(engine: &dyn Engine) {
    let latency = engine.sync_latency();
    if !latency.is_zero() {
        tokio::time::sleep(latency).await;
    }
}

/// The engine plus a lease that tells the handle when openraft has dropped every storage object
/// (each clone holds one), so a shutdown can wait until the engine is really released.
#[derive(Clone)]
pub(crate) struct Storage {
    engine: Arc<dyn Engine>,
    /// Held while the current snapshot's metadata is read and replaced, so a snapshot build
    /// cannot put back an older record over the one a restore commit just wrote.
    snapshot_meta: Arc<std::sync::Mutex<()>>,
    _lease: Arc<()>,
}

pub(crate) fn io_err(e: EngineError) -> io::Error {
    io::Error::other(e)
}

pub(crate) fn to_json<T: Serialize>(value: &T) -> io::Result<Vec<u8>> {
    serde_json::to_vec(value).map_err(io::Error::other)
}

pub(crate) fn from_json<T: DeserializeOwned>(bytes: &[u8]) -> io::Result<T> {
    serde_json::from_slice(bytes).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

impl Storage {
    pub(crate) fn new(engine: Arc<dyn Engine>, lease: Arc<()>) -> Self {
        Storage {
            engine,
            snapshot_meta: Arc::default(),
            _lease: lease,
        }
    }

    pub(crate) fn engine(&self) -> &dyn Engine {
        self.engine.as_ref()
    }

    /// A JSON value from `Space::Meta`.
    pub(crate) fn meta<T: DeserializeOwned>(&self, key: &[u8]) -> io::Result<Option<T>> {
        let bytes = self.engine.get(Space::Meta, key).map_err(io_err)?;
        bytes.map(|b| from_json(&b)).transpose()
    }

    /// Hold this while reading and then writing the current snapshot's metadata. Never held
    /// across an await.
    pub(crate) fn snapshot_meta_lock(&self) -> std::sync::MutexGuard<'_, ()> {
        // The guarded data is `()`: a panic elsewhere cannot have left it half-changed.
        self.snapshot_meta
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Write without waiting for durability (the engine keeps write order; see `Engine`).
    pub(crate) fn write(&self, batch: WriteBatch) -> io::Result<()> {
        self.engine.write(batch, false).map_err(io_err)
    }

    /// Make every earlier write durable, off the async worker (inline under madsim).
    pub(crate) async fn sync(&self) -> io::Result<()> {
        disk_wait(self.engine.as_ref()).await;
        let engine = Arc::clone(&self.engine);
        let done = CofferRuntime::spawn_blocking(move || engine.sync()).await?;
        done.map_err(io_err)
    }

    /// Write and fsync, off the async worker (inline under madsim).
    pub(crate) async fn write_synced(&self, batch: WriteBatch) -> io::Result<()> {
        disk_wait(self.engine.as_ref()).await;
        let engine = Arc::clone(&self.engine);
        let done = CofferRuntime::spawn_blocking(move || engine.write(batch, true)).await?;
        done.map_err(io_err)
    }
}
