//! What the simulation watches of secret leases (built only under madsim): every lease this
//! process's nodes registered and every revocation they carried out, with the simulated host,
//! the Raft term of the active state and two clocks — the true simulated time and the node's
//! own (possibly skewed) wall clock. The simulator's lease checkers read [`events`]; nothing in
//! the node reads them back. "Revoked" here means a lease manager finished a revocation: the
//! engine's revoke answered Ok and the deletion of the record was committed.

use std::sync::Mutex;
use std::time::{Duration, UNIX_EPOCH};

/// One lease event on one simulated host.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeaseEvent {
    pub lease_id: String,
    pub kind: EventKind,
    /// The simulated host that did it.
    pub node: madsim::task::NodeId,
    /// The term the active state's writes were fenced to (0 outside a fence).
    pub term: u64,
    /// True simulated time, milliseconds since the Unix epoch (no skew).
    pub true_ms: i64,
}

/// Registered, or revoked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventKind {
    /// The record is being stored (noted before the write, whose error does not prove it
    /// was not committed): issued at `issue_wall_ms` and due at `expire_wall_ms`, both on
    /// the issuing node's clock; `issue_true_ms` is the true time when that clock was read.
    Issued {
        issue_wall_ms: i64,
        expire_wall_ms: i64,
        issue_true_ms: i64,
    },
    /// Revoked by a request (`sys/leases/revoke`, `revoke-prefix`, `revoke-force`).
    RevokedByRequest,
    /// Revoked by the expiry schedule, which decided it was due when the node's clock read
    /// `decided_wall_ms`.
    Expired { decided_wall_ms: i64 },
}

fn all() -> &'static Mutex<Vec<LeaseEvent>> {
    static EVENTS: Mutex<Vec<LeaseEvent>> = Mutex::new(Vec::new());
    &EVENTS
}

/// Note `kind` for `lease_id`, on the current simulated host.
pub fn record(lease_id: &str, kind: EventKind) {
    // Outside a simulated world (plain unit tests of this build) there is nothing to watch.
    if madsim::runtime::Handle::try_current().is_err() {
        return;
    }
    let true_ms = true_now_ms();
    let event = LeaseEvent {
        lease_id: lease_id.to_string(),
        kind,
        node: madsim::plugin::node(),
        term: crate::physical::fence_term().unwrap_or(0),
        true_ms,
    };
    all().lock().unwrap_or_else(|e| e.into_inner()).push(event);
}

/// True simulated time (no skew), milliseconds since the Unix epoch; 0 outside a simulated
/// world.
pub fn true_now_ms() -> i64 {
    if madsim::runtime::Handle::try_current().is_err() {
        return 0;
    }
    madsim::time::TimeHandle::current()
        .now_time()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_millis() as i64
}

/// Every event so far, in the order they happened.
pub fn events() -> Vec<LeaseEvent> {
    all().lock().unwrap_or_else(|e| e.into_inner()).clone()
}
