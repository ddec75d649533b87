//! No lease is revoked before its expiry unless a request asked for it.
//!
//! - An expiry revocation was decided when the revoking node's clock had reached the expiry
//!   the issuing node stored (both wall clocks, as the nodes read them).
//! - In true time it came no earlier than the issue plus the TTL minus [`MAX_SKEW_SPREAD_MS`]:
//!   each node's wall clock may be skewed (the fault skews one host by less than 5 s, and two
//!   fault lanes may skew two hosts at once, in opposite directions), so a revoking node ahead
//!   of the issuing one may rightly see the expiry up to that much early. Clock jumps move
//!   every clock together and change nothing here.
//! - A revocation by request follows a `sys/leases/revoke` of that lease the workload sent
//!   earlier; the nodes revoke nothing on their own but by expiry.

use super::{Violation, ViolationKind};
use crate::history::{LeaseHistory, NodeAction, NodeEvent};
use std::collections::BTreeMap;

/// The most two simulated hosts' wall clocks can differ: two skews of under 5 s each, in
/// opposite directions.
pub const MAX_SKEW_SPREAD_MS: u64 = 10_000;

/// Checks every revocation the nodes recorded.
pub fn check_leases_not_early(history: &LeaseHistory) -> Result<(), Violation> {
    let issued: BTreeMap<&str, &NodeEvent> = history
        .registered()
        .map(|e| (e.lease_id.as_str(), e))
        .collect();
    for rev in history.revocations() {
        let why = match (&rev.action, issued.get(rev.lease_id.as_str())) {
            (_, None) => Some("a lease no node registered was revoked".to_string()),
            (NodeAction::Expired { decided_wall_ms }, Some(iss)) => {
                early(rev, *decided_wall_ms, iss)
            }
            (_, Some(_)) => {
                let asked = history
                    .revoke_requests
                    .iter()
                    .any(|r| r.lease_id == rev.lease_id && r.invoked_at <= rev.at);
                (!asked).then(|| "revoked by a request nobody sent".to_string())
            }
        };
        if let Some(why) = why {
            return Err(Violation {
                kind: ViolationKind::LeaseRevokedEarly,
                key: rev.lease_id.clone(),
                explanation: format!("{why}: {rev}"),
                ops: Vec::new(),
            });
        }
    }
    Ok(())
}

/// Why the expiry revocation `rev` of the lease `iss` registered came too early, if it did.
fn early(rev: &NodeEvent, decided_wall_ms: i64, iss: &NodeEvent) -> Option<String> {
    let NodeAction::Issued {
        ttl_ms,
        expire_wall_ms,
    } = iss.action
    else {
        return None;
    };
    if decided_wall_ms < expire_wall_ms {
        return Some(format!(
            "expired when {}'s clock read {decided_wall_ms}, before the stored expiry {expire_wall_ms}",
            rev.node
        ));
    }
    let earliest = (iss.at + ttl_ms).saturating_sub(MAX_SKEW_SPREAD_MS);
    (rev.at < earliest).then(|| {
        format!(
            "issued at {} with a TTL of {ttl_ms} ms, expired at {}: earlier than any clock skew explains",
            iss.at, rev.at
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::lease_fixtures::{expired, issued, revoked};
    use crate::history::RevokeRequest;

    fn history(events: Vec<NodeEvent>) -> LeaseHistory {
        LeaseHistory {
            node_events: events,
            ..LeaseHistory::default()
        }
    }

    #[test]
    fn expiry_at_or_after_the_stored_time_passes_even_on_a_skewed_node() {
        let ok = history(vec![issued("a", 1_000, 3_000), expired("a", 4_000, 4_000)]);
        assert_eq!(check_leases_not_early(&ok), Ok(()));
        // A revoking node 4 s ahead sees the expiry 4 s early in true time: within the bound.
        let skewed = history(vec![issued("a", 1_000, 3_000), expired("a", 1_200, 4_000)]);
        assert_eq!(check_leases_not_early(&skewed), Ok(()));
    }

    #[test]
    fn expiry_before_the_stored_time_or_beyond_any_skew_is_caught() {
        let kind = |h: &LeaseHistory| check_leases_not_early(h).err().map(|v| v.kind);
        let before = history(vec![issued("a", 1_000, 3_000), expired("a", 3_000, 3_999)]);
        assert_eq!(kind(&before), Some(ViolationKind::LeaseRevokedEarly));
        let mut far = history(vec![
            issued("a", 1_000, 20_000),
            expired("a", 2_000, 21_000),
        ]);
        assert_eq!(kind(&far), Some(ViolationKind::LeaseRevokedEarly));
        far.node_events[1] = expired("a", 11_000, 21_000);
        assert_eq!(kind(&far), None, "10 s early is within the skew bound");
    }

    #[test]
    fn a_revocation_by_request_needs_a_request_sent_before_it() {
        let mut h = history(vec![issued("a", 0, 30_000), revoked("a", 2_000)]);
        assert_eq!(
            check_leases_not_early(&h).err().map(|v| v.kind),
            Some(ViolationKind::LeaseRevokedEarly)
        );
        h.revoke_requests.push(RevokeRequest {
            lease_id: "a".into(),
            invoked_at: 1_500,
        });
        assert_eq!(check_leases_not_early(&h), Ok(()));
    }
}
