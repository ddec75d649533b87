//! The `History` builder: invoke and complete events from concurrent clients.

use std::collections::BTreeSet;

use super::{Op, OpKind, Outcome};

/// Handle of an invoked operation, used to complete it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OpId(usize);

/// All operations of a run, in invocation order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct History {
    ops: Vec<Op>,
}

impl History {
    /// An empty history.
    pub fn new() -> Self {
        Self::default()
    }

    /// Records that `client` sent `kind` on `key` at simulated time `at`.
    /// Until completed, the operation has no answer (`Outcome::Unknown`).
    pub fn invoke(&mut self, client: u64, key: impl Into<String>, kind: OpKind, at: u64) -> OpId {
        self.push(Op {
            client,
            key: key.into(),
            kind,
            invoked_at: at,
            completed_at: None,
            outcome: Outcome::Unknown,
        })
    }

    /// Records the answer to `id` at simulated time `at`.
    /// `Outcome::Unknown` (a timeout) leaves the operation without a completion time.
    pub fn complete(&mut self, id: OpId, outcome: Outcome, at: u64) {
        let op = &mut self.ops[id.0];
        assert!(op.completed_at.is_none(), "operation completed twice: {op}");
        assert!(
            at >= op.invoked_at,
            "completion before invocation: {op} at {at}"
        );
        op.completed_at = (outcome != Outcome::Unknown).then_some(at);
        op.outcome = outcome;
    }

    /// Appends a whole operation (for replaying or hand-written histories).
    pub fn push(&mut self, op: Op) -> OpId {
        self.ops.push(op);
        OpId(self.ops.len() - 1)
    }

    /// Every operation, in the order recorded.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// The operation behind `id`.
    pub fn op(&self, id: OpId) -> &Op {
        &self.ops[id.0]
    }

    /// The keys touched, sorted.
    pub fn keys(&self) -> BTreeSet<&str> {
        self.ops.iter().map(|op| op.key.as_str()).collect()
    }

    /// The operations on `key`, in the order recorded.
    pub fn for_key<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a Op> + 'a {
        self.ops.iter().filter(move |op| op.key == key)
    }

    /// A history of only `key`'s operations (to check keys one by one).
    pub fn only_key(&self, key: &str) -> History {
        History {
            ops: self.for_key(key).cloned().collect(),
        }
    }
}

impl FromIterator<Op> for History {
    fn from_iter<I: IntoIterator<Item = Op>>(iter: I) -> Self {
        Self {
            ops: iter.into_iter().collect(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_invoke_and_complete() {
        let mut h = History::new();
        let a = h.invoke(1, "k", OpKind::Write("a".into()), 10);
        let b = h.invoke(2, "k", OpKind::Read, 12);
        h.complete(b, Outcome::ReadValue(None), 15);
        h.complete(a, Outcome::Unknown, 40);
        assert_eq!(h.op(b).completed_at, Some(15));
        assert_eq!(h.op(a).completed_at, None);
        assert_eq!(h.op(a).outcome, Outcome::Unknown);
        assert_eq!(h.for_key("k").count(), 2);
    }
}
