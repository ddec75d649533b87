//! No lease is revoked twice: for each lease id, at most one node records a finished
//! revocation (the engine's revoke answered and the record's deletion committed), whether by
//! expiry or by request, across every node, term and restart of the run.

use super::{Violation, ViolationKind};
use crate::history::LeaseHistory;
use std::collections::BTreeMap;

/// Checks the node records of `history`; returns how many revocations there were.
pub fn check_leases_revoked_once(history: &LeaseHistory) -> Result<usize, Violation> {
    let mut by_lease: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for event in history.revocations() {
        by_lease
            .entry(event.lease_id.as_str())
            .or_default()
            .push(event.to_string());
    }
    for (lease, done) in &by_lease {
        if done.len() > 1 {
            return Err(Violation {
                kind: ViolationKind::LeaseRevokedTwice,
                key: lease.to_string(),
                explanation: format!("revoked {} times:\n    {}", done.len(), done.join("\n    ")),
                ops: Vec::new(),
            });
        }
    }
    Ok(by_lease.len())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::lease_fixtures::{expired, issued, revoked};

    #[test]
    fn one_revocation_per_lease_passes() {
        let h = LeaseHistory {
            node_events: vec![
                issued("a", 0, 3_000),
                issued("b", 0, 3_000),
                expired("a", 3_100, 3_100),
                revoked("b", 1_000),
            ],
            ..Default::default()
        };
        assert_eq!(check_leases_revoked_once(&h), Ok(2));
    }

    #[test]
    fn a_second_revocation_on_another_node_is_caught() {
        let mut h = LeaseHistory {
            node_events: vec![issued("a", 0, 3_000), expired("a", 3_100, 3_100)],
            ..Default::default()
        };
        let mut again = expired("a", 5_000, 5_000);
        again.node = "coffer-2".into();
        again.term = 4;
        h.node_events.push(again);
        let v = check_leases_revoked_once(&h).unwrap_err();
        assert_eq!(v.kind, ViolationKind::LeaseRevokedTwice);
        assert!(v.explanation.contains("coffer-2 (term 4)"), "{v}");
    }
}
