//! Liveness: once the cluster is healed, every lease is gone by its deadline — its expiry or
//! the heal, whichever is later, plus [`LIVENESS_BOUND_MS`] — and its certificate is revoked.
//!
//! The bound is the longest wait a failed revocation is retried after
//! (`coffer_node::lease::MAX_BACKOFF_MS`: the faults may have failed it several times before
//! the heal, and the node keeps its backoff) plus [`SLACK_MS`] for an election, the new active
//! node restoring the schedule, and the revocation's own writes. Each lease is asked about
//! at its deadline, so "gone when asked" is "gone by the deadline"; a revocation a node
//! recorded later than that fails too.

use super::{Violation, ViolationKind};
use crate::history::{LeaseHistory, NodeAction};

/// Restore, election and the revocation's writes, after the last retry.
pub const SLACK_MS: u64 = 5_000;
/// How long after its expiry (or the heal) a lease may live.
pub const LIVENESS_BOUND_MS: u64 = coffer_node::lease::MAX_BACKOFF_MS as u64 + SLACK_MS;

/// When the healed cluster must have revoked a lease issued at `issued_at` with `ttl_ms`.
pub fn deadline(issued_at: u64, ttl_ms: u64, healed_at: u64) -> u64 {
    (issued_at + ttl_ms).max(healed_at) + LIVENESS_BOUND_MS
}

/// Checks every lease a node registered; returns how many were checked.
pub fn check_leases_expired(history: &LeaseHistory) -> Result<usize, Violation> {
    let mut checked = 0;
    for iss in history.registered() {
        let NodeAction::Issued { ttl_ms, .. } = iss.action else {
            continue;
        };
        let due = deadline(iss.at, ttl_ms, history.healed_at);
        let lease = iss.lease_id.as_str();
        let last = history
            .revocations()
            .filter(|r| r.lease_id == lease)
            .map(|r| r.at)
            .max();
        let fin = history.finals.iter().find(|f| f.lease_id == lease);
        let why = match fin {
            None => Some("the healed cluster was never asked about it".to_string()),
            Some(f) if !f.gone => Some(format!("still there at {} ms", f.checked_at)),
            Some(f) if f.cert_revoked == Some(false) => {
                Some("gone, but its certificate is not revoked".to_string())
            }
            _ => last
                .filter(|at| *at > due)
                .map(|at| format!("revoked only at {at} ms")),
        };
        if let Some(why) = why {
            return Err(Violation {
                kind: ViolationKind::LeaseOutlived,
                key: lease.to_string(),
                explanation: format!(
                    "issued at {} ms with a TTL of {ttl_ms} ms, healed at {} ms, due by {due} ms: {why}",
                    iss.at, history.healed_at
                ),
                ops: Vec::new(),
            });
        }
        checked += 1;
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::lease_fixtures::{expired, issued};
    use crate::history::FinalLease;

    fn fin(lease: &str, gone: bool, cert_revoked: Option<bool>) -> FinalLease {
        FinalLease {
            lease_id: lease.into(),
            gone,
            cert_revoked,
            checked_at: 90_000,
        }
    }

    fn history(revoked_at: u64, fin: FinalLease) -> LeaseHistory {
        LeaseHistory {
            node_events: vec![issued("a", 1_000, 3_000), expired("a", revoked_at, 4_000)],
            healed_at: 20_000,
            finals: vec![fin],
            ..LeaseHistory::default()
        }
    }

    #[test]
    fn a_lease_gone_by_its_deadline_passes() {
        assert_eq!(deadline(1_000, 3_000, 20_000), 20_000 + LIVENESS_BOUND_MS);
        assert_eq!(deadline(30_000, 3_000, 20_000), 33_000 + LIVENESS_BOUND_MS);
        let h = history(25_000, fin("a", true, Some(true)));
        assert_eq!(check_leases_expired(&h), Ok(1));
        let unknown_cert = history(4_000, fin("a", true, None));
        assert_eq!(check_leases_expired(&unknown_cert), Ok(1));
    }

    #[test]
    fn a_lease_still_there_late_or_with_its_certificate_valid_is_caught() {
        let kind = |h: &LeaseHistory| check_leases_expired(h).err().map(|v| v.kind);
        let outlived = Some(ViolationKind::LeaseOutlived);
        assert_eq!(kind(&history(4_000, fin("a", false, None))), outlived);
        assert_eq!(kind(&history(4_000, fin("a", true, Some(false)))), outlived);
        let late = 20_000 + LIVENESS_BOUND_MS + 1;
        assert_eq!(kind(&history(late, fin("a", true, Some(true)))), outlived);
        assert_eq!(
            kind(&history(4_000, fin("b", true, None))),
            outlived,
            "never asked"
        );
    }
}
