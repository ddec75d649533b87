//! A sealed node that leads Raft hands leadership on. Sealed nodes still run Raft (they replicate
//! and vote, so they can catch up and unseal from their own records), so one can win an election,
//! or keep leading after `sys/seal` failed to hand over; while it leads no node can be active,
//! and the cluster would answer 503 until an operator unsealed that very node. `Core::seal`
//! steps down once; this loop keeps doing so for as long as the node is sealed and leads.

use crate::core::Core;
use std::sync::Arc;
use std::time::Duration;

/// How often a sealed node checks whether it leads.
const CHECK_INTERVAL: Duration = Duration::from_secs(1);

/// Run for the life of the node.
pub async fn hand_over_loop(core: Arc<Core>) {
    let Some(raft) = core.storage.raft.clone() else {
        return;
    };
    loop {
        tokio::time::sleep(CHECK_INTERVAL).await;
        if !core.is_sealed() || !raft.is_leader() {
            continue;
        }
        // A lone voter has nobody to hand over to (and may be initialising or unsealing).
        if raft.metrics().voters.len() < 2 {
            continue;
        }
        match raft.step_down().await {
            Ok(to) => tracing::info!(to, "sealed leader handed Raft leadership on"),
            Err(e) => tracing::debug!(error = %e, "sealed leader could not hand over leadership"),
        }
    }
}
