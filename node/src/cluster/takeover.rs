//! A node that wins an election takes over as the active node at once, not at the first
//! request it happens to serve: the active state owns work that runs without requests (the
//! lease expiry schedule, `lease/expiry.rs`), which must resume on the new leader within
//! seconds of a failover.

use crate::core::Core;
use std::sync::Arc;
use std::time::Duration;

/// How often an unsealed node checks whether it leads a term it has not taken over.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Run for the life of the node.
pub async fn take_over_loop(core: Arc<Core>) {
    let Some(raft) = core.storage.raft.clone() else {
        return;
    };
    loop {
        tokio::time::sleep(CHECK_INTERVAL).await;
        let Some(state) = core.active.get() else {
            continue;
        };
        if core.storage.barrier.is_sealed() || !raft.is_leader() {
            continue;
        }
        if state.term == raft.metrics().current_term {
            continue;
        }
        if let Err(e) = core.current_active().await {
            tracing::debug!(error = %e, "could not take over as the active node yet");
        }
    }
}
