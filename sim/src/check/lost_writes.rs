//! No acknowledged write is lost: the healed cluster's final values must keep them.
//!
//! Rule, per key, given the final value `F` read after healing (`None`: absent):
//! `F` must be the effect of some mutation `X` that may have taken effect (not `Failed`) —
//! a write or CAS storing `F`, or a delete when `F` is `None` — such that no acknowledged mutation
//! was invoked after `X` was acknowledged (that one took effect after `X`, so `X` cannot be last).
//! The initial absent state counts as an `X` acknowledged before everything: it explains
//! `F = None` only when no mutation on the key was acknowledged.
//! Sound (never rejects a correct run) because values are unique per write; it is weaker than
//! linearizability but needs no search, so it covers keys too busy for [`super::check_linearizable`].

use std::collections::{BTreeMap, BTreeSet};

use super::{Violation, ViolationKind};
use crate::history::{History, Op};

/// Checks every key of `history` and of `finals` (key → value; a missing key is absent).
pub fn check_no_lost_writes(
    history: &History,
    finals: &BTreeMap<String, String>,
) -> Result<(), Violation> {
    let mut keys: BTreeSet<&str> = history.keys();
    keys.extend(finals.keys().map(String::as_str));
    for key in keys {
        let ops: Vec<&Op> = history.for_key(key).filter(|op| op.is_mutation()).collect();
        check_key(key, &ops, finals.get(key).map(String::as_str))?;
    }
    Ok(())
}

fn check_key(key: &str, mutations: &[&Op], last: Option<&str>) -> Result<(), Violation> {
    let acked: Vec<&Op> = mutations
        .iter()
        .copied()
        .filter(|op| op.is_acknowledged())
        .collect();
    let producers: Vec<&Op> = mutations
        .iter()
        .copied()
        .filter(|op| op.may_take_effect() && op.written_value() == last)
        .collect();
    if last.is_none() && acked.is_empty() {
        return Ok(());
    }
    if producers
        .iter()
        .any(|x| !acked.iter().any(|a| x.precedes(a)))
    {
        return Ok(());
    }
    Err(explain(key, mutations, &producers, &acked, last))
}

fn explain(
    key: &str,
    all: &[&Op],
    producers: &[&Op],
    acked: &[&Op],
    last: Option<&str>,
) -> Violation {
    let newest: Vec<&Op> = acked
        .iter()
        .copied()
        .filter(|a| !acked.iter().any(|b| a.precedes(b)))
        .collect();
    let (kind, explanation) = if producers.is_empty() && last.is_some() {
        let failed = all
            .iter()
            .any(|op| !op.may_take_effect() && op.written_value() == last);
        let why = if failed {
            "only a failed (definitely not applied) op"
        } else {
            "no op"
        };
        (
            ViolationKind::PhantomValue,
            format!("final value {last:?} was written by {why}"),
        )
    } else {
        let text =
            format!(
            "final value {last:?} comes from an op that finished before an acknowledged mutation \
             began; the newest acknowledged mutations are lost: {}",
            newest.iter().map(|op| op.to_string()).collect::<Vec<_>>().join("; ")
        );
        (ViolationKind::LostWrite, text)
    };
    let ops = producers
        .iter()
        .chain(&newest)
        .map(|op| (*op).clone())
        .collect();
    Violation {
        kind,
        key: key.to_string(),
        explanation,
        ops,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::fixtures::*;
    use crate::history::{OpKind, Outcome};

    fn finals(v: Option<&str>) -> BTreeMap<String, String> {
        v.map(|v| ("k".to_string(), v.to_string()))
            .into_iter()
            .collect()
    }

    fn kind_of(h: &History, v: Option<&str>) -> Option<ViolationKind> {
        check_no_lost_writes(h, &finals(v)).err().map(|e| e.kind)
    }

    #[test]
    fn last_acknowledged_write_survives() {
        let h = history([write(1, "a", 0, 1), write(1, "b", 2, 3)]);
        assert_eq!(kind_of(&h, Some("b")), None);
    }

    #[test]
    fn concurrent_writes_either_may_win() {
        let h = history([write(1, "a", 0, 10), write(2, "b", 5, 15)]);
        assert_eq!(kind_of(&h, Some("a")), None);
        assert_eq!(kind_of(&h, Some("b")), None);
    }

    #[test]
    fn older_value_after_acknowledged_write_is_lost() {
        let h = history([write(1, "a", 0, 1), write(1, "b", 2, 3)]);
        let err = check_no_lost_writes(&h, &finals(Some("a"))).unwrap_err();
        assert_eq!(err.kind, ViolationKind::LostWrite);
        assert!(err.explanation.contains("\"b\""), "{err}");
    }

    #[test]
    fn absent_after_acknowledged_write_is_lost() {
        let h = history([write(1, "a", 0, 1)]);
        assert_eq!(kind_of(&h, None), Some(ViolationKind::LostWrite));
    }

    #[test]
    fn delete_explains_absence() {
        let del = op(1, OpKind::Delete, 2, Some(3), Outcome::Ok(None));
        let h = history([write(1, "a", 0, 1), del]);
        assert_eq!(kind_of(&h, None), None);
        assert_eq!(kind_of(&h, Some("a")), Some(ViolationKind::LostWrite));
    }

    #[test]
    fn timed_out_write_may_or_may_not_win() {
        let h = history([write(1, "a", 0, 1), timed_out_write(2, "b", 2)]);
        assert_eq!(kind_of(&h, Some("a")), None);
        assert_eq!(kind_of(&h, Some("b")), None);
        let alone = history([timed_out_write(2, "b", 2)]);
        assert_eq!(kind_of(&alone, None), None);
    }

    #[test]
    fn failed_write_as_final_value_is_phantom() {
        let h = history([write(1, "a", 0, 1), failed_write(1, "b", 2, 3)]);
        let err = check_no_lost_writes(&h, &finals(Some("b"))).unwrap_err();
        assert_eq!(err.kind, ViolationKind::PhantomValue);
        assert!(err.explanation.contains("failed"), "{err}");
    }

    #[test]
    fn final_key_never_written_is_phantom() {
        let h = history([]);
        let mut f = BTreeMap::new();
        f.insert("other".to_string(), "x".to_string());
        let err = check_no_lost_writes(&h, &f).unwrap_err();
        assert_eq!(
            (err.kind, err.key.as_str()),
            (ViolationKind::PhantomValue, "other")
        );
    }
}
