//! What a node stores with: physical storage, the barrier over it, Raft (when the storage is
//! raft), the seals that wrap the root key, and the metrics the storage adapter reports into.

use crate::error::ApiError;
use crate::metrics::Metrics;
use crate::records::SealRecords;
use crate::storage::StorageView;
use coffer_barrier::{Barrier, Physical};
use coffer_raft::RaftHandle;
use coffer_seal::Seal;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// The seals a config names: the one in use (`None`: Shamir), and one marked
/// `disabled = "true"`, which only a seal migration uses (to unwrap the root key one last time).
#[derive(Default)]
pub struct Seals {
    pub active: Option<Arc<dyn Seal>>,
    pub disabled: Option<Arc<dyn Seal>>,
}

/// One node's storage stack.
pub struct NodeStorage {
    pub physical: Arc<dyn Physical>,
    pub barrier: Arc<Barrier>,
    pub raft: Option<RaftHandle>,
    /// Storage type name for seal-status (`raft`, `inmem`).
    pub storage_type: &'static str,
    /// The auto seal (`seal "awskms"`), if any; `None` is Shamir.
    pub auto_seal: Option<Arc<dyn Seal>>,
    /// A seal stanza marked `disabled = "true"`: the seal being migrated away from.
    pub disabled_seal: Option<Arc<dyn Seal>>,
    /// Request and node metrics (`sys/metrics`), shared with the storage adapter.
    pub metrics: Arc<Metrics>,
    /// Set once `core/seal-config` was seen: a node never goes back to uninitialised (a
    /// snapshot without the record is refused), so every request after that skips the read.
    initialized: AtomicBool,
}

impl NodeStorage {
    /// A sealed barrier over `physical`.
    pub fn new(
        physical: Arc<dyn Physical>,
        raft: Option<RaftHandle>,
        storage_type: &'static str,
        metrics: Arc<Metrics>,
        seals: Seals,
    ) -> NodeStorage {
        NodeStorage {
            barrier: Arc::new(Barrier::new(physical.clone())),
            physical,
            raft,
            storage_type,
            auto_seal: seals.active,
            disabled_seal: seals.disabled,
            metrics,
            initialized: AtomicBool::new(false),
        }
    }

    /// The Raft handle, or 400 when this node's storage is not raft.
    pub fn raft_handle(&self) -> Result<&RaftHandle, ApiError> {
        self.raft
            .as_ref()
            .ok_or_else(|| ApiError::bad("storage is not raft"))
    }

    /// The plain seal records of this node's storage.
    pub fn records(&self) -> SealRecords<'_> {
        SealRecords(self.physical.as_ref())
    }

    /// A storage view of the barrier under `prefix`.
    pub fn view(&self, prefix: &str) -> StorageView {
        StorageView::new(self.barrier.clone(), prefix)
    }

    /// Whether `core/seal-config` exists (the node has been initialised).
    pub async fn is_initialized(&self) -> Result<bool, ApiError> {
        if self.initialized.load(Ordering::Acquire) {
            return Ok(true);
        }
        let initialized = self.records().seal_config().await?.is_some();
        if initialized {
            self.initialized.store(true, Ordering::Release);
        }
        Ok(initialized)
    }
}
