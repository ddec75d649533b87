//! Interchangeable unanswered ops, so the linearizability search explores one of each
//! interchangeable choice instead of all of them.
//!
//! An op without an answer (`Unknown`) may take effect anywhere after its invocation, or never.
//! A key that went through a leaderless stretch collects dozens of them, and the search then
//! tries every subset (2^n) — that is what ran out of budget. Many of them are interchangeable:
//! they would have the same effect on the register wherever they are placed, as far as any op
//! of the history can tell. Three classes:
//!
//! - unanswered deletes: a delete's effect (value absent, version kept) never depends on the state;
//! - unanswered writes whose value no read returned ("dead" writes): the value they leave is one
//!   no read matches, so only their version bump is visible (a write or delete after them ignores
//!   the value, a CAS looks at the version only);
//! - unanswered CAS ops with the same expected version and a dead value, likewise.
//!
//! Why the search may fix the order within a class. Take X and Y in one class, X invoked no later
//! than Y. Neither has a completion, so nothing must come after them in real time, and the ops
//! that must come before X (acknowledged before X was invoked) are a subset of those before Y.
//! (1) A linearization that places Y but not X stays valid with X in Y's slot instead: X may go
//! there, and it leaves a state no later op can tell from Y's. (2) One that places Y before X
//! stays valid with the two swapped, for the same reasons. Applying (1) and (2) repeatedly turns
//! any linearization into one where each class's placed ops are the earliest-invoked members of
//! the class, placed in invocation order. So requiring that order loses no linearization: a
//! history passes with the rule iff it passes without it (the tests check both on random
//! histories), while a class of n ops offers n + 1 choices instead of 2^n subsets and orders.

use std::collections::{HashMap, HashSet};

use crate::history::{Op, OpKind, Outcome};

/// A set of interchangeable unanswered ops.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Class {
    Delete,
    DeadWrite,
    DeadCas(u64),
}

/// For each op of `ops` (sorted by invocation), the op of its class invoked just before it, which
/// the search must place first; `None` when it has no class or is the first of it.
pub fn predecessors(ops: &[&Op]) -> Vec<Option<usize>> {
    let read: HashSet<&str> = ops
        .iter()
        .filter_map(|op| op.read_value().flatten())
        .collect();
    let mut last: HashMap<Class, usize> = HashMap::new();
    ops.iter()
        .enumerate()
        .map(|(i, op)| last.insert(class_of(op, &read)?, i))
        .collect()
}

fn class_of(op: &Op, read: &HashSet<&str>) -> Option<Class> {
    if op.outcome != Outcome::Unknown {
        return None;
    }
    match &op.kind {
        OpKind::Delete => Some(Class::Delete),
        OpKind::Write(v) if !read.contains(v.as_str()) => Some(Class::DeadWrite),
        OpKind::Cas {
            expected_version,
            value,
        } if !read.contains(value.as_str()) => Some(Class::DeadCas(*expected_version)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixtures::*;

    fn unknown(kind: OpKind, inv: u64) -> Op {
        op(1, kind, inv, None, Outcome::Unknown)
    }

    #[test]
    fn classes_chain_in_invocation_order() {
        let cas = |e, v: &str| OpKind::Cas {
            expected_version: e,
            value: v.into(),
        };
        let ops = [
            timed_out_write(1, "dead1", 0),
            timed_out_write(2, "seen", 1),
            unknown(OpKind::Delete, 2),
            timed_out_write(3, "dead2", 3),
            unknown(cas(1, "c1"), 4),
            unknown(cas(2, "c2"), 5),
            unknown(cas(1, "c3"), 6),
            unknown(OpKind::Delete, 7),
            write(4, "acked", 8, 9),
            read(4, Some("seen"), 10, 11),
            timed_out_write(3, "dead3", 12),
        ];
        let refs: Vec<&Op> = ops.iter().collect();
        let expected = [
            None,    // first dead write
            None,    // its value was read: no class
            None,    // first delete
            Some(0), // dead write after dead1
            None,    // first CAS expecting 1
            None,    // first CAS expecting 2
            Some(4), // CAS expecting 1 after c1
            Some(2), // delete after the first delete
            None,    // acknowledged: no class
            None,    // read
            Some(3), // dead write after dead2
        ];
        assert_eq!(predecessors(&refs), expected);
    }
}
