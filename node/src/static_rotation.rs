//! The active node's timer for the database engine's static roles: every few seconds, on the
//! active node only, each `database` mount rotates the passwords whose `rotation_period` has
//! run out (`engines::database::rotate_due`). Not run under simulation, where the engine has
//! no database client. After a failover the new active node's timer finds the same due roles
//! from storage, so no schedule is lost.

use crate::core::Core;
use crate::router::Table;
use std::sync::Arc;
use std::time::Duration;

const TICK: Duration = Duration::from_secs(5);

/// Run forever; spawned once at start.
pub async fn rotation_loop(core: Arc<Core>) {
    loop {
        tokio::time::sleep(TICK).await;
        if core.storage.barrier.is_sealed() || !core.is_active() {
            continue;
        }
        let Ok(active) = core.current_active().await else {
            continue;
        };
        for entry in active.mounts.entries(Table::Secrets) {
            if entry.kind != "database" {
                continue;
            }
            let storage = active.mounts.storage_for(Table::Secrets, &entry);
            match crate::engines::database::rotate_due(&storage).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(mount = %entry.path, rotated = n, "rotated static roles"),
                Err(e) => tracing::warn!(mount = %entry.path, error = %e, "static role rotation"),
            }
        }
    }
}
