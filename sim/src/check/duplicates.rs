//! Each write takes effect at most once, and nothing is read that was not (possibly) written.
//!
//! Three rules, all relying on values being unique per write:
//! - two writes/CASes in the history carrying one value: the workload broke uniqueness, and
//!   nothing below can be trusted (reported as `DuplicateValue`);
//! - a read of a value that no write on that key which may have taken effect stored — including a
//!   value stored only by a `Failed` write — is a `PhantomValue`;
//! - resurrection: once value `v` is known to be in place (its write acknowledged, or a read
//!   returned it), an acknowledged mutation invoked after that overwrote it by its completion; a
//!   read invoked after that completion returning `v` means `v` was applied twice (`DuplicateValue`).
//!   Reads do not report versions, so "two versions carrying one value" is caught this way.

use std::collections::BTreeMap;

use super::{Violation, ViolationKind};
use crate::history::{History, Op};

/// Checks the whole history for duplicated and phantom values.
pub fn check_no_duplicates(history: &History) -> Result<(), Violation> {
    unique_values(history)?;
    for key in history.keys() {
        let ops: Vec<&Op> = history.for_key(key).collect();
        for read in ops.iter().filter(|op| op.read_value().flatten().is_some()) {
            check_read(key, &ops, read)?;
        }
    }
    Ok(())
}

fn unique_values(history: &History) -> Result<(), Violation> {
    let mut seen: BTreeMap<&str, &Op> = BTreeMap::new();
    for op in history.ops() {
        let Some(v) = op.written_value() else {
            continue;
        };
        if let Some(first) = seen.insert(v, op) {
            let explanation =
                format!("value {v:?} is carried by two writes; values must be unique");
            let ops = vec![first.clone(), op.clone()];
            return Err(Violation {
                kind: ViolationKind::DuplicateValue,
                key: op.key.clone(),
                explanation,
                ops,
            });
        }
    }
    Ok(())
}

fn check_read(key: &str, ops: &[&Op], read: &Op) -> Result<(), Violation> {
    let v = read.read_value().flatten();
    let writer = ops.iter().copied().find(|op| op.written_value() == v);
    let Some(writer) = writer.filter(|w| w.may_take_effect()) else {
        let why = if writer.is_some() {
            "only a failed (definitely not applied) write"
        } else {
            "no write"
        };
        let explanation = format!("read returned {v:?}, which {why} stored on this key");
        let ops = writer.into_iter().chain([read]).cloned().collect();
        return Err(Violation {
            kind: ViolationKind::PhantomValue,
            key: key.to_string(),
            explanation,
            ops,
        });
    };
    let Some(overwrite) = overwrite_before(ops, writer, read) else {
        return Ok(());
    };
    let explanation = format!(
        "value {v:?} came back: it was in place, then overwritten by an acknowledged op that \
         completed before this read began"
    );
    let ops = [writer, overwrite, read].into_iter().cloned().collect();
    Err(Violation {
        kind: ViolationKind::DuplicateValue,
        key: key.to_string(),
        explanation,
        ops,
    })
}

/// An acknowledged mutation that certainly overwrote `writer`'s value before `read` was invoked.
fn overwrite_before<'a>(ops: &[&'a Op], writer: &Op, read: &Op) -> Option<&'a Op> {
    let installed = installed_by(ops, writer)?;
    ops.iter().copied().find(|a| {
        a.is_mutation()
            && *a != writer
            && a.invoked_at > installed
            && a.effect_deadline()
                .is_some_and(|done| done < read.invoked_at)
    })
}

/// The earliest time `writer`'s value is known to be in place.
fn installed_by(ops: &[&Op], writer: &Op) -> Option<u64> {
    let v = writer.written_value();
    let reads = ops
        .iter()
        .filter(|op| op.read_value() == Some(v))
        .filter_map(|op| op.completed_at);
    reads.chain(writer.effect_deadline()).min()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixtures::*;

    fn kind_of(ops: impl IntoIterator<Item = Op>) -> Option<ViolationKind> {
        check_no_duplicates(&history(ops)).err().map(|e| e.kind)
    }

    #[test]
    fn clean_history_passes() {
        let ops = [
            write(1, "a", 0, 1),
            read(2, Some("a"), 2, 3),
            write(1, "b", 4, 5),
            read(2, Some("b"), 6, 7),
        ];
        assert_eq!(kind_of(ops), None);
    }

    #[test]
    fn value_read_back_after_later_write_completed_is_duplicate() {
        let ops = [
            write(1, "a", 0, 1),
            write(1, "b", 2, 3),
            read(2, Some("a"), 4, 5),
        ];
        assert_eq!(kind_of(ops), Some(ViolationKind::DuplicateValue));
    }

    #[test]
    fn timed_out_value_seen_then_overwritten_then_seen_is_duplicate() {
        let ops = [
            timed_out_write(1, "a", 0),
            read(2, Some("a"), 1, 2),
            write(3, "b", 3, 4),
            read(2, Some("a"), 5, 6),
        ];
        assert_eq!(kind_of(ops), Some(ViolationKind::DuplicateValue));
    }

    #[test]
    fn concurrent_overwrite_is_not_duplicate() {
        // "b" may have been applied before "a": reading "a" afterwards is fine.
        let ops = [
            write(1, "a", 0, 10),
            write(2, "b", 1, 5),
            read(3, Some("a"), 11, 12),
        ];
        assert_eq!(kind_of(ops), None);
    }

    #[test]
    fn two_writes_carrying_one_value_are_rejected() {
        let ops = [write(1, "a", 0, 1), write(2, "a", 2, 3)];
        assert_eq!(kind_of(ops), Some(ViolationKind::DuplicateValue));
    }

    #[test]
    fn read_of_unwritten_value_is_phantom() {
        assert_eq!(
            kind_of([read(1, Some("z"), 0, 1)]),
            Some(ViolationKind::PhantomValue)
        );
    }

    #[test]
    fn read_of_failed_write_is_phantom() {
        let ops = [failed_write(1, "a", 0, 1), read(2, Some("a"), 2, 3)];
        assert_eq!(kind_of(ops), Some(ViolationKind::PhantomValue));
    }
}
