//! [`RaftStats`]: what a node's Raft instance reports to the node's metrics beyond openraft's
//! own gauges: how long applying each batch of committed entries took (through an observer the
//! node installs), how many times the leader changed as this node saw it, and how many snapshots
//! it built and installed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use openraft_rt::WatchReceiver;

use crate::node::CofferRaft;

/// Called after each applied batch with how long it took and how many entries it held.
pub type ApplyObserver = Box<dyn Fn(Duration, usize) + Send + Sync>;

/// Shared between the state machine, the leader watcher and the handle.
#[derive(Default)]
pub struct RaftStats {
    apply_observer: OnceLock<ApplyObserver>,
    leader_changes: AtomicU64,
    snapshots_built: AtomicU64,
    snapshots_installed: AtomicU64,
}

impl std::fmt::Debug for RaftStats {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RaftStats")
            .field("leader_changes", &self.leader_changes())
            .field("snapshots_built", &self.snapshots_built())
            .field("snapshots_installed", &self.snapshots_installed())
            .finish_non_exhaustive()
    }
}

impl RaftStats {
    /// Install the apply observer; only the first one is kept.
    pub fn observe_apply(&self, observer: ApplyObserver) {
        let _ = self.apply_observer.set(observer);
    }

    pub(crate) fn applied(&self, took: Duration, entries: usize) {
        if let Some(observe) = self.apply_observer.get() {
            observe(took, entries);
        }
    }

    /// How many times this node has seen a new leader (the first one included).
    pub fn leader_changes(&self) -> u64 {
        self.leader_changes.load(Ordering::Relaxed)
    }

    /// Snapshots this node built and recorded as its current one.
    pub fn snapshots_built(&self) -> u64 {
        self.snapshots_built.load(Ordering::Relaxed)
    }

    /// Snapshots this node installed from a leader (it had fallen behind the leader's log).
    pub fn snapshots_installed(&self) -> u64 {
        self.snapshots_installed.load(Ordering::Relaxed)
    }

    pub(crate) fn snapshot_built(&self) {
        self.snapshots_built.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn snapshot_installed(&self) {
        self.snapshots_installed.fetch_add(1, Ordering::Relaxed);
    }

    /// Count leader changes until `raft` stops publishing metrics.
    pub(crate) async fn watch_leader(self: Arc<Self>, raft: CofferRaft) {
        let mut rx = raft.metrics();
        drop(raft);
        let mut last = None;
        loop {
            let leader = rx.borrow_watched().current_leader;
            if leader.is_some() && leader != last {
                self.leader_changes.fetch_add(1, Ordering::Relaxed);
                last = leader;
            }
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}
