//! Lease events for the lease checkers' tests.

use crate::history::{NodeAction, NodeEvent};

fn event(lease: &str, action: NodeAction, at: u64) -> NodeEvent {
    NodeEvent {
        lease_id: lease.into(),
        action,
        node: "coffer-1".into(),
        term: 2,
        at,
    }
}

/// `lease` issued at true time `at` with `ttl_ms`, on a node whose clock is true.
pub fn issued(lease: &str, at: u64, ttl_ms: u64) -> NodeEvent {
    let expire_wall_ms = (at + ttl_ms) as i64;
    event(
        lease,
        NodeAction::Issued {
            ttl_ms,
            expire_wall_ms,
        },
        at,
    )
}

/// `lease` expired at true time `at`, decided when the node's clock read `decided_wall_ms`.
pub fn expired(lease: &str, at: u64, decided_wall_ms: i64) -> NodeEvent {
    event(lease, NodeAction::Expired { decided_wall_ms }, at)
}

/// `lease` revoked by a request at `at`.
pub fn revoked(lease: &str, at: u64) -> NodeEvent {
    event(lease, NodeAction::RevokedByRequest, at)
}
