//! Secret leases in a chaos run: what the workload was told (leases issued, revocations it
//! asked for), what the nodes recorded doing (the node's simulation registry, converted to
//! plain data here), and what the healed cluster answered about each lease at the end.
//! All times are true simulated milliseconds since the run started, unless named `wall`.

use std::fmt;

/// A lease the workload was given (a 2xx answer to `pki/issue/<role>`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct IssuedLease {
    pub lease_id: String,
    pub serial: String,
    pub ttl_ms: u64,
    pub invoked_at: u64,
    pub completed_at: u64,
}

/// A `sys/leases/revoke` the workload sent (answered or not).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RevokeRequest {
    pub lease_id: String,
    pub invoked_at: u64,
}

/// What a node recorded doing to a lease.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum NodeAction {
    /// Being stored (maybe never committed) with a TTL of `ttl_ms`, due at `expire_wall_ms` on the issuing node's clock
    /// (the event's `at` is the true time that clock was read).
    Issued { ttl_ms: u64, expire_wall_ms: i64 },
    /// Revoked because a request asked.
    RevokedByRequest,
    /// Revoked by the expiry schedule when the node's clock read `decided_wall_ms`.
    Expired { decided_wall_ms: i64 },
}

/// One node's record of one action.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeEvent {
    pub lease_id: String,
    pub action: NodeAction,
    /// Which node, by name.
    pub node: String,
    pub term: u64,
    /// True simulated time, ms since the run started: when the issuing node read its clock,
    /// or when the revocation was done.
    pub at: u64,
}

impl NodeEvent {
    pub fn is_revocation(&self) -> bool {
        !matches!(self.action, NodeAction::Issued { .. })
    }
}

impl fmt::Display for NodeEvent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} (term {}) at {} ms: {:?} {}",
            self.node, self.term, self.at, self.action, self.lease_id
        )
    }
}

/// What the healed cluster's active node answered about one lease in the liveness phase.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FinalLease {
    pub lease_id: String,
    /// `sys/leases/lookup` answered 400 (no such lease): it was revoked.
    pub gone: bool,
    /// For a lease the workload knows the certificate of: whether `pki/cert/<serial>` shows
    /// a revocation time.
    pub cert_revoked: Option<bool>,
    /// When the question was asked.
    pub checked_at: u64,
}

/// Everything about the leases of one run.
#[derive(Clone, Debug, Default)]
pub struct LeaseHistory {
    pub issued: Vec<IssuedLease>,
    pub revoke_requests: Vec<RevokeRequest>,
    pub node_events: Vec<NodeEvent>,
    /// When the cluster was healed (an active node again, every fault over).
    pub healed_at: u64,
    pub finals: Vec<FinalLease>,
}

impl LeaseHistory {
    /// Leases the nodes registered or tried to (some the workload never heard of: the answer
    /// was lost; some never stored: the write failed).
    pub fn registered(&self) -> impl Iterator<Item = &NodeEvent> {
        self.node_events
            .iter()
            .filter(|e| matches!(e.action, NodeAction::Issued { .. }))
    }

    /// Revocations the nodes carried out.
    pub fn revocations(&self) -> impl Iterator<Item = &NodeEvent> {
        self.node_events.iter().filter(|e| e.is_revocation())
    }
}
