//! A request made after a policy change was acknowledged never gets the older policy's verdict.
//!
//! The policy's versions each grant read on their own path only (see
//! [`crate::history::PolicyHistory`]), and one writer writes them in order. For a request on
//! version `j`'s path, invoked at `t0` and answered at `t1`, let `i` be the newest version
//! acknowledged before `t0` (version 0 was acknowledged before the workload). The versions that
//! can be in force at some point of `[t0, t1]` are `i`, any later one invoked before `t1` that
//! may have taken effect, and any earlier one that went unanswered (it may land late); an
//! acknowledged earlier one cannot, since the writer invoked `i` after its answer.
//! - allowed: `j` must be among them;
//! - denied: some version other than `j` must be among them.

use super::{Violation, ViolationKind};
use crate::history::{PolicyHistory, PolicyRead, PolicyWrite};

/// Checks every judged request of `history`; returns how many were checked.
pub fn check_policy(history: &PolicyHistory) -> Result<usize, Violation> {
    for read in &history.reads {
        let possible = in_force(&history.writes, read);
        let explained = if read.allowed {
            possible.contains(&read.path_version)
        } else {
            possible.iter().any(|&v| v != read.path_version)
        };
        if !explained {
            let verdict = if read.allowed { "allowed" } else { "denied" };
            let explanation = format!(
                "client {} was {verdict} reading version {}'s path @[{}, {}], but only versions \
                 {possible:?} can have been in force then",
                read.client, read.path_version, read.invoked_at, read.completed_at
            );
            return Err(Violation {
                kind: ViolationKind::StalePolicy,
                key: "policy".into(),
                explanation,
                ops: Vec::new(),
            });
        }
    }
    Ok(history.reads.len())
}

/// The versions that can be in force at some point while `read` ran.
fn in_force(writes: &[PolicyWrite], read: &PolicyRead) -> Vec<u64> {
    let newest = writes
        .iter()
        .filter(|w| w.acknowledged_at().is_some_and(|t| t < read.invoked_at))
        .map(|w| w.version)
        .max()
        .unwrap_or(0);
    let mut possible = vec![newest];
    for w in writes {
        let later = w.version > newest && w.invoked_at < read.completed_at && w.may_take_effect();
        let late = w.version < newest && w.completed_at.is_none();
        if later || late {
            possible.push(w.version);
        }
    }
    possible.sort_unstable();
    possible
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(version: u64, inv: u64, done: Option<u64>) -> PolicyWrite {
        PolicyWrite {
            version,
            invoked_at: inv,
            completed_at: done,
            acknowledged: done.is_some(),
        }
    }

    fn read(path_version: u64, inv: u64, done: u64, allowed: bool) -> PolicyRead {
        PolicyRead {
            client: 1,
            path_version,
            invoked_at: inv,
            completed_at: done,
            allowed,
        }
    }

    fn check(writes: Vec<PolicyWrite>, reads: Vec<PolicyRead>) -> Option<ViolationKind> {
        check_policy(&PolicyHistory { writes, reads })
            .err()
            .map(|v| v.kind)
    }

    fn writes() -> Vec<PolicyWrite> {
        vec![
            write(0, 0, Some(1)),
            write(1, 10, Some(20)),
            write(2, 30, Some(40)),
        ]
    }

    #[test]
    fn fresh_verdicts_pass() {
        let reads = vec![
            read(1, 21, 25, true),
            read(0, 21, 25, false),
            read(1, 15, 35, false), // version 2 may be in force by 35
            read(2, 15, 35, true),
            read(1, 5, 12, true), // version 1 was being written
        ];
        assert_eq!(check(writes(), reads), None);
    }

    #[test]
    fn old_grant_after_acknowledged_change_is_caught() {
        let reads = vec![read(1, 41, 45, true)];
        assert_eq!(check(writes(), reads), Some(ViolationKind::StalePolicy));
    }

    #[test]
    fn denial_of_the_current_grant_is_caught() {
        let reads = vec![read(2, 41, 45, false)];
        assert_eq!(check(writes(), reads), Some(ViolationKind::StalePolicy));
    }

    #[test]
    fn grant_of_a_version_never_written_is_caught() {
        let reads = vec![read(3, 41, 45, true)];
        assert_eq!(check(writes(), reads), Some(ViolationKind::StalePolicy));
    }

    #[test]
    fn unanswered_old_write_may_land_late() {
        let mut w = writes();
        w[1] = write(1, 10, None);
        assert_eq!(check(w.clone(), vec![read(1, 41, 45, true)]), None);
        assert_eq!(check(w, vec![read(2, 41, 45, false)]), None);
    }
}
