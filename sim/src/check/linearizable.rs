//! Per-key linearizability by Wing–Gong–Lowe search with memoisation.
//!
//! Each key is checked alone (a register per key composes: linearizability is local).
//! An acknowledged op must be placed between its invocation and completion; an op without an
//! answer (`Unknown`) may be placed anywhere after its invocation, or never; a `Failed` op never
//! takes effect and is left out, as is a read that returned no value. The search tries, at each
//! step, every pending op invoked before the earliest completion among pending ops, and memoises
//! the (placed-set bitmask, register state) pairs it has already explored without success.
//! Unanswered ops that are interchangeable ([`super::symmetry`]) are placed in invocation order
//! only, which keeps every verdict and spares the search the 2^n subsets of n such ops.
//!
//! Limits: at most [`MAX_OPS_PER_KEY`] (64) ops per key, so the placed set fits a `u64`; at most
//! [`MAX_SEARCH_STATES`] memoised states per key. Beyond either the check reports
//! `TooManyOps` / `SearchBudgetExceeded` instead of a verdict, which the chaos run counts as a
//! failure (nothing was verified); workloads should spread ops over keys.

use std::collections::HashSet;

use super::{symmetry, Register, Violation, ViolationKind};
use crate::history::{History, Op, Outcome};

/// Most ops (after dropping failed ops and unanswered reads) one key may have.
pub const MAX_OPS_PER_KEY: usize = 64;

/// Most memoised (placed set, state) pairs the search explores for one key.
pub const MAX_SEARCH_STATES: usize = 1_000_000;

/// Checks every key of `history`; returns the first key that no linearization explains.
pub fn check_linearizable(history: &History) -> Result<(), Violation> {
    for key in history.keys() {
        check_key(key, history.for_key(key).collect())?;
    }
    Ok(())
}

fn check_key(key: &str, all: Vec<&Op>) -> Result<(), Violation> {
    let mut ops: Vec<&Op> = all.into_iter().filter(|op| takes_part(op)).collect();
    ops.sort_by_key(|op| op.invoked_at);
    if ops.len() > MAX_OPS_PER_KEY {
        let explanation = format!(
            "{} ops on this key; the search accepts at most {MAX_OPS_PER_KEY}",
            ops.len()
        );
        return Err(violation(ViolationKind::TooManyOps, key, explanation, &ops));
    }
    let mut search = Search::new(&ops, symmetry::predecessors(&ops));
    if search.run(0, &Register::default()) {
        return Ok(());
    }
    if search.exhausted {
        let explanation = format!("gave up after {MAX_SEARCH_STATES} search states");
        return Err(violation(
            ViolationKind::SearchBudgetExceeded,
            key,
            explanation,
            &ops,
        ));
    }
    Err(violation(
        ViolationKind::NotLinearizable,
        key,
        search.explain(),
        &ops,
    ))
}

/// Failed ops never took effect; a read without a value constrains nothing. A CAS refused for
/// a version mismatch takes part like a read of the version.
fn takes_part(op: &Op) -> bool {
    let observed = op.may_take_effect() || op.outcome == Outcome::CasMismatch;
    observed && (op.is_mutation() || op.read_value().is_some())
}

fn violation(kind: ViolationKind, key: &str, explanation: String, ops: &[&Op]) -> Violation {
    let ops = ops.iter().map(|op| (*op).clone()).collect();
    Violation {
        kind,
        key: key.to_string(),
        explanation,
        ops,
    }
}

struct Search<'a> {
    ops: &'a [&'a Op],
    /// Latest time each op may be placed: its completion if acknowledged, else never forced.
    deadlines: Vec<u64>,
    /// Ops that must be placed: the acknowledged ones and the CAS mismatches.
    required: u64,
    /// For each op, the interchangeable op that must be placed before it, if any.
    after: Vec<Option<usize>>,
    explored: HashSet<(u64, Register)>,
    exhausted: bool,
    path: Vec<usize>,
    deepest: (Vec<usize>, Register),
}

impl<'a> Search<'a> {
    fn new(ops: &'a [&'a Op], after: Vec<Option<usize>>) -> Self {
        let deadlines: Vec<u64> = ops
            .iter()
            .map(|op| op.answer_deadline().unwrap_or(u64::MAX))
            .collect();
        let required = (0..ops.len())
            .filter(|&i| ops[i].answer_deadline().is_some())
            .fold(0u64, |mask, i| mask | 1 << i);
        Search {
            ops,
            deadlines,
            required,
            after,
            explored: HashSet::new(),
            exhausted: false,
            path: Vec::new(),
            deepest: (Vec::new(), Register::default()),
        }
    }

    /// Depth-first: can the ops outside `placed` be linearized from `state`?
    fn run(&mut self, placed: u64, state: &Register) -> bool {
        if placed & self.required == self.required {
            return true;
        }
        if self.exhausted || !self.explored.insert((placed, state.clone())) {
            return false;
        }
        if self.explored.len() > MAX_SEARCH_STATES {
            self.exhausted = true;
            return false;
        }
        for i in self.candidates(placed) {
            if let Some(next) = state.step(self.ops[i]) {
                self.path.push(i);
                if self.run(placed | 1 << i, &next) {
                    return true;
                }
                self.path.pop();
            }
        }
        if self.path.len() >= self.deepest.0.len() {
            self.deepest = (self.path.clone(), state.clone());
        }
        false
    }

    /// Pending ops that may come next: invoked no later than the earliest pending deadline, and
    /// placed after their interchangeable predecessor.
    fn candidates(&self, placed: u64) -> Vec<usize> {
        let pending: Vec<usize> = (0..self.ops.len())
            .filter(|&i| placed & 1 << i == 0)
            .collect();
        let horizon = pending
            .iter()
            .map(|&i| self.deadlines[i])
            .min()
            .unwrap_or(u64::MAX);
        pending
            .into_iter()
            .filter(|&i| self.ops[i].invoked_at <= horizon)
            .filter(|&i| self.after[i].is_none_or(|j| placed & 1 << j != 0))
            .collect()
    }

    fn explain(&self) -> String {
        let (path, state) = &self.deepest;
        let placed = path.iter().fold(0u64, |mask, &i| mask | 1 << i);
        let mut text =
            String::from("no order of the ops explains the answers. Longest valid prefix:");
        for &i in path {
            text.push_str(&format!("\n    {}", self.ops[i]));
        }
        text.push_str(&format!(
            "\n  leaves value {:?} at version {}; no pending op can come next:",
            state.value, state.version
        ));
        for i in self.candidates(placed) {
            text.push_str(&format!("\n    {}", self.ops[i]));
        }
        text
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixtures::*;
    use crate::check::self_check::SplitMix;
    use crate::history::OpKind;

    fn kind_of(h: &History) -> Option<ViolationKind> {
        check_linearizable(h).err().map(|v| v.kind)
    }

    #[test]
    fn sequential_history_passes() {
        let h = history([
            read(1, None, 0, 1),
            write(1, "a", 2, 3),
            read(2, Some("a"), 4, 5),
            op(2, OpKind::Delete, 6, Some(7), Outcome::Ok(None)),
            read(1, None, 8, 9),
        ]);
        assert_eq!(check_linearizable(&h), Ok(()));
    }

    #[test]
    fn concurrent_history_passes() {
        // The two writes overlap; the reads see them in the order b then a.
        let h = history([
            write(1, "a", 0, 10),
            write(2, "b", 1, 11),
            read(3, Some("b"), 2, 4),
            read(3, Some("a"), 5, 12),
            read(4, Some("a"), 13, 14),
        ]);
        assert_eq!(check_linearizable(&h), Ok(()));
    }

    #[test]
    fn stale_read_is_rejected() {
        let h = history([
            write(1, "a", 0, 1),
            write(1, "b", 2, 3),
            read(2, Some("a"), 4, 5),
        ]);
        let err = check_linearizable(&h).unwrap_err();
        assert_eq!(err.kind, ViolationKind::NotLinearizable);
        assert!(err.explanation.contains("read"), "{err}");
    }

    #[test]
    fn lost_write_read_as_absent_is_rejected() {
        let h = history([write(1, "a", 0, 1), read(2, None, 2, 3)]);
        assert_eq!(kind_of(&h), Some(ViolationKind::NotLinearizable));
    }

    #[test]
    fn write_reappearing_after_overwrite_is_rejected() {
        let h = history([
            write(1, "a", 0, 1),
            read(2, Some("a"), 2, 3),
            write(1, "b", 4, 5),
            read(2, Some("b"), 6, 7),
            read(2, Some("a"), 8, 9),
        ]);
        assert_eq!(kind_of(&h), Some(ViolationKind::NotLinearizable));
    }

    #[test]
    fn timed_out_write_that_took_effect_passes() {
        let h = history([timed_out_write(1, "a", 0), read(2, Some("a"), 50, 51)]);
        assert_eq!(check_linearizable(&h), Ok(()));
    }

    #[test]
    fn timed_out_write_that_did_not_take_effect_passes() {
        let h = history([timed_out_write(1, "a", 0), read(2, None, 50, 51)]);
        assert_eq!(check_linearizable(&h), Ok(()));
    }

    #[test]
    fn timed_out_write_cannot_take_effect_before_invocation() {
        let h = history([read(2, Some("a"), 0, 1), timed_out_write(1, "a", 5)]);
        assert_eq!(kind_of(&h), Some(ViolationKind::NotLinearizable));
    }

    #[test]
    fn failed_write_read_back_is_rejected() {
        let h = history([failed_write(1, "a", 0, 1), read(2, Some("a"), 2, 3)]);
        assert_eq!(kind_of(&h), Some(ViolationKind::NotLinearizable));
    }

    #[test]
    fn cas_follows_versions() {
        let cas = |expected_version, v: &str, inv, done, outcome| {
            op(
                1,
                OpKind::Cas {
                    expected_version,
                    value: v.into(),
                },
                inv,
                Some(done),
                outcome,
            )
        };
        let good = history([
            write(1, "a", 0, 1),
            cas(1, "b", 2, 3, Outcome::Ok(None)),
            cas(1, "c", 4, 5, Outcome::Failed),
            read(2, Some("b"), 6, 7),
        ]);
        assert_eq!(check_linearizable(&good), Ok(()));
        let bad = history([write(1, "a", 0, 1), cas(0, "b", 2, 3, Outcome::Ok(None))]);
        assert_eq!(kind_of(&bad), Some(ViolationKind::NotLinearizable));
    }

    fn cas_op(expected_version: u64, v: &str, inv: u64, done: u64, outcome: Outcome) -> Op {
        let kind = OpKind::Cas {
            expected_version,
            value: v.into(),
        };
        op(1, kind, inv, Some(done), outcome)
    }

    #[test]
    fn reported_versions_must_match_the_model() {
        let versioned = |v: &str, inv, done, version| {
            op(
                1,
                OpKind::Write(v.into()),
                inv,
                Some(done),
                Outcome::Ok(Some(version)),
            )
        };
        let good = history([
            versioned("a", 0, 1, 1),
            versioned("b", 2, 3, 2),
            cas_op(2, "c", 4, 5, Outcome::Ok(Some(3))),
        ]);
        assert_eq!(check_linearizable(&good), Ok(()));
        // A write answered with a version the key already had (applied twice, or the counter
        // went back).
        let repeated = history([versioned("a", 0, 1, 1), versioned("b", 2, 3, 1)]);
        assert_eq!(kind_of(&repeated), Some(ViolationKind::NotLinearizable));
        // A CAS whose answer skips a version.
        let skipped = history([
            versioned("a", 0, 1, 1),
            cas_op(1, "b", 2, 3, Outcome::Ok(Some(3))),
        ]);
        assert_eq!(kind_of(&skipped), Some(ViolationKind::NotLinearizable));
        // An unanswered write in between explains a skipped version.
        let explained = history([
            versioned("a", 0, 1, 1),
            timed_out_write(2, "x", 2),
            cas_op(1, "b", 3, 4, Outcome::Ok(Some(2))),
            versioned("c", 5, 6, 4),
        ]);
        assert_eq!(kind_of(&explained), None);
    }

    #[test]
    fn cas_mismatch_must_be_possible() {
        // Refused while the key was at version 1, expecting 1: impossible.
        let bad = history([
            write(1, "a", 0, 1),
            cas_op(1, "b", 2, 3, Outcome::CasMismatch),
        ]);
        assert_eq!(kind_of(&bad), Some(ViolationKind::NotLinearizable));
        // Refused while a concurrent write moved the key on: possible.
        let racing = history([
            write(1, "a", 0, 1),
            write(2, "c", 2, 10),
            cas_op(1, "b", 3, 4, Outcome::CasMismatch),
        ]);
        assert_eq!(kind_of(&racing), None);
        // Refused expecting 2 at version 1, then a CAS expecting 1 succeeds: consistent.
        let fine = history([
            write(1, "a", 0, 1),
            cas_op(2, "b", 2, 3, Outcome::CasMismatch),
            cas_op(1, "d", 4, 5, Outcome::Ok(Some(2))),
        ]);
        assert_eq!(kind_of(&fine), None);
    }

    #[test]
    fn too_many_ops_is_reported() {
        let ops = (0..=MAX_OPS_PER_KEY as u64).map(|i| read(1, None, 2 * i, 2 * i + 1));
        assert_eq!(kind_of(&history(ops)), Some(ViolationKind::TooManyOps));
    }

    #[test]
    fn many_concurrent_ops_stay_fast() {
        // 14 fully overlapping writes (14! orders) and a final read: memoisation keeps this small.
        let mut ops: Vec<Op> = (0..14)
            .map(|i| write(i, &format!("v{i}"), i, 1000 + i))
            .collect();
        ops.push(read(99, Some("v7"), 2000, 2001));
        assert_eq!(check_linearizable(&history(ops)), Ok(()));
    }

    fn unknown(client: u64, kind: OpKind, inv: u64) -> Op {
        op(client, kind, inv, None, Outcome::Unknown)
    }

    fn acked_cas(expected_version: u64, v: &str, inv: u64, done: u64) -> Op {
        let kind = OpKind::Cas {
            expected_version,
            value: v.into(),
        };
        op(9, kind, inv, Some(done), Outcome::Ok(None))
    }

    /// `n` unanswered writes, deletes and CAS ops (none of their values read), invoked at 0..n.
    fn leaderless_stretch(n: u64) -> Vec<Op> {
        (0..n)
            .map(|i| match i % 4 {
                0 | 1 => timed_out_write(i % 3, &format!("lost{i}"), i),
                2 => unknown(i % 3, OpKind::Delete, i),
                _ => {
                    let kind = OpKind::Cas {
                        expected_version: i % 5,
                        value: format!("lostcas{i}"),
                    };
                    unknown(i % 3, kind, i)
                }
            })
            .collect()
    }

    #[test]
    fn stale_read_after_many_unknown_ops_is_caught() {
        // 40 unanswered ops are 2^40 subsets to an exhaustive search; the stale read must still
        // get a verdict, and the verdict must be "not linearizable".
        let mut ops = leaderless_stretch(40);
        ops.extend([
            write(5, "a", 100, 101),
            write(5, "b", 102, 103),
            read(6, Some("a"), 104, 105),
        ]);
        assert_eq!(kind_of(&history(ops)), Some(ViolationKind::NotLinearizable));
    }

    #[test]
    fn unknown_writes_count_exactly_towards_versions() {
        // 24 unanswered writes no one read, then "a": a CAS may find the key at version 1..=25
        // (any number of them took effect), never 26.
        let with_cas = |expected: u64| {
            let mut ops: Vec<Op> = (0..24)
                .map(|i| timed_out_write(i % 4, &format!("lost{i}"), i))
                .collect();
            ops.push(write(5, "a", 100, 101));
            ops.push(acked_cas(expected, "c", 102, 103));
            history(ops)
        };
        assert_eq!(check_linearizable(&with_cas(25)), Ok(()));
        assert_eq!(check_linearizable(&with_cas(7)), Ok(()));
        assert_eq!(check_linearizable(&with_cas(1)), Ok(()));
        assert_eq!(kind_of(&with_cas(26)), Some(ViolationKind::NotLinearizable));
    }

    #[test]
    fn unknown_write_that_was_read_is_placed_among_many() {
        let mut ops = leaderless_stretch(40);
        ops.push(timed_out_write(7, "x", 10));
        ops.push(write(5, "a", 100, 101));
        ops.push(read(6, Some("x"), 102, 103));
        assert_eq!(check_linearizable(&history(ops.clone())), Ok(()));
        // ...but not before its invocation.
        ops.push(read(8, Some("x"), 3, 4));
        assert_eq!(kind_of(&history(ops)), Some(ViolationKind::NotLinearizable));
    }

    /// A concurrent history of 12 ops on one key: a model run whose ops overlap in time, some
    /// unanswered (applied or not), CASes refused for a mismatch, versions reported; in some
    /// histories a reported version or a read answer falsified.
    fn random_history(rng: &mut SplitMix) -> Vec<Op> {
        let mut reg = Register::default();
        let mut ops = Vec::new();
        for i in 0..12u64 {
            let at = 40 + 10 * i;
            let (inv, done) = (at - rng.below(30), at + rng.below(30));
            let value = format!("v{i}");
            let kind = match rng.below(6) {
                0 | 1 => OpKind::Read,
                2 => OpKind::Delete,
                3 => OpKind::Cas {
                    expected_version: reg.version.saturating_sub(1) + rng.below(3),
                    value,
                },
                _ => OpKind::Write(value),
            };
            let probe = op(i % 4, kind.clone(), inv, Some(done), Outcome::Ok(None));
            let (outcome, done) = match (&kind, reg.step(&probe)) {
                (OpKind::Read, _) => (Outcome::ReadValue(reg.value.clone()), Some(done)),
                (_, None) if rng.below(2) == 0 => (Outcome::Unknown, None),
                (_, None) => (Outcome::CasMismatch, Some(done)),
                (_, Some(next)) => {
                    let answered = rng.below(3) == 0;
                    let version = (kind != OpKind::Delete).then_some(next.version);
                    if rng.below(2) == 0 || answered {
                        reg = next;
                    }
                    let outcome = if answered {
                        Outcome::Ok(version)
                    } else {
                        Outcome::Unknown
                    };
                    (outcome, answered.then_some(done))
                }
            };
            ops.push(op(i % 4, kind, inv, done, outcome));
        }
        if rng.below(6) == 0 {
            // A reported version off by one.
            if let Some(op) = ops
                .iter_mut()
                .find(|op| matches!(op.outcome, Outcome::Ok(Some(_))))
            {
                if let Outcome::Ok(Some(v)) = op.outcome {
                    op.outcome = Outcome::Ok(Some(v + 1));
                }
            }
        } else if rng.below(3) == 0 {
            let reads: Vec<usize> = (0..ops.len())
                .filter(|&i| ops[i].kind == OpKind::Read)
                .collect();
            if let Some(&i) = reads.get(rng.below(reads.len().max(1) as u64) as usize) {
                let v = rng.below(13);
                ops[i].outcome = Outcome::ReadValue((v < 12).then(|| format!("v{v}")));
            }
        }
        ops
    }

    /// Whether the search finds a linearization, with or without the symmetry rule.
    fn decide(ops: &[Op], symmetric: bool) -> bool {
        let mut refs: Vec<&Op> = ops.iter().filter(|op| takes_part(op)).collect();
        refs.sort_by_key(|op| op.invoked_at);
        let after = if symmetric {
            symmetry::predecessors(&refs)
        } else {
            vec![None; refs.len()]
        };
        let mut search = Search::new(&refs, after);
        let found = search.run(0, &Register::default());
        assert!(!search.exhausted);
        found
    }

    #[test]
    fn symmetry_rule_keeps_every_verdict() {
        let mut rng = SplitMix(7);
        let (mut passed, mut failed) = (0, 0);
        for n in 0..2000 {
            let ops = random_history(&mut rng);
            let verdict = decide(&ops, false);
            assert_eq!(decide(&ops, true), verdict, "history {n}: {ops:#?}");
            if verdict {
                passed += 1;
            } else {
                failed += 1;
            }
        }
        assert!(
            passed > 200 && failed > 200,
            "{passed} passed, {failed} failed"
        );
    }
}
