//! `Core`: one node, as the parts it owns: its storage stack (`storage.rs`: physical, barrier,
//! Raft, seals, metrics), the key ceremonies under way (`keys.rs`), the active state and the
//! lock that replaces it (`active.rs`), the cluster's identity, and its link to its peers
//! (`link::ClusterLink`). Behaviour lives with the modules that run it: the request pipeline in
//! `pipeline.rs`, init/unseal/seal in `unseal.rs`, rekey and generate-root in `sys/keys.rs`,
//! joining and autopilot in `cluster/`. This module imports only what sits below them.

mod active;
mod keys;
mod storage;

pub use active::{ActiveSlot, ActiveState};
pub use keys::KeyCeremonies;
pub use storage::{NodeStorage, Seals};

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::link::ClusterLink;
use coffer_raft::RaftHandle;
use parking_lot::RwLock;
use std::sync::Arc;

/// The product version, and the Vault API version whose shapes we answer with.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Vault release whose HTTP API, CLI and config Coffer targets.
pub const VAULT_API_VERSION: &str = "1.16.0";

/// Identity of the cluster, created at init and kept behind the barrier.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub id: String,
}

/// One node.
pub struct Core {
    pub config: ServerConfig,
    pub storage: NodeStorage,
    pub(crate) keys: KeyCeremonies,
    pub(crate) active: ActiveSlot,
    pub(crate) cluster: RwLock<Option<ClusterInfo>>,
    pub link: ClusterLink,
}

impl Core {
    /// A sealed node over `storage`.
    pub fn new(config: ServerConfig, storage: NodeStorage) -> Arc<Core> {
        Arc::new(Core {
            config,
            storage,
            keys: KeyCeremonies::default(),
            active: ActiveSlot::default(),
            cluster: RwLock::new(None),
            link: ClusterLink::default(),
        })
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.storage.barrier.is_sealed() || !self.active.is_some()
    }

    /// The unsealed state, or 503 Sealed.
    pub fn active(&self) -> Result<Arc<ActiveState>, ApiError> {
        self.active.get().ok_or(ApiError::Sealed)
    }

    /// Whether this node is the one that serves requests (single node: whenever unsealed).
    pub fn is_active(&self) -> bool {
        !self.is_sealed() && self.storage.raft.as_ref().is_none_or(|r| r.is_leader())
    }

    /// The Raft handle, or 400 when this node's storage is not raft.
    pub fn raft_handle(&self) -> Result<&RaftHandle, ApiError> {
        self.storage.raft_handle()
    }

    /// Cluster name and id, known once unsealed.
    pub fn cluster_info(&self) -> Option<ClusterInfo> {
        self.cluster.read().clone()
    }

    /// Whether `core/seal-config` exists (the node has been initialised).
    pub async fn is_initialized(&self) -> Result<bool, ApiError> {
        self.storage.is_initialized().await
    }

    /// Scrape-time values for `sys/metrics`.
    pub fn node_gauges(&self) -> crate::metrics::NodeGauges {
        let status = self.storage.raft.as_ref().map(|r| r.metrics());
        crate::metrics::NodeGauges {
            sealed: self.is_sealed(),
            active: self.is_active(),
            raft_term: status.as_ref().map_or(0, |s| s.current_term),
            raft_last_log_index: status.as_ref().and_then(|s| s.last_log_index).unwrap_or(0),
            raft_committed_index: status.as_ref().and_then(|s| s.committed_index).unwrap_or(0),
            raft_applied_index: status
                .as_ref()
                .and_then(|s| s.last_applied_index)
                .unwrap_or(0),
            raft_snapshot_index: status.as_ref().and_then(|s| s.snapshot_index).unwrap_or(0),
            raft_purged_index: status.as_ref().and_then(|s| s.purged_index).unwrap_or(0),
            raft_leader_changes: self
                .storage
                .raft
                .as_ref()
                .map_or(0, |r| r.stats().leader_changes()),
            raft_snapshots_installed: self
                .storage
                .raft
                .as_ref()
                .map_or(0, |r| r.stats().snapshots_installed()),
        }
    }

    /// The plain seal records of this node's storage.
    pub fn records(&self) -> crate::records::SealRecords<'_> {
        self.storage.records()
    }

    /// A storage view of the barrier under `prefix`.
    pub fn view(&self, prefix: &str) -> crate::storage::StorageView {
        self.storage.view(prefix)
    }
}
