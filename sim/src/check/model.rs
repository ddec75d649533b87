//! The sequential model: a register holding an optional value and a version counter.

use crate::history::{Op, OpKind, Outcome};

/// State of one key: its value (`None` when absent) and how many mutations it has seen.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash)]
pub struct Register {
    /// Current value.
    pub value: Option<String>,
    /// Bumped by every write and successful CAS; starts at 0. A delete leaves it, as KV v2's
    /// `current_version` counts written versions only (a delete marks the latest one deleted).
    pub version: u64,
}

impl Register {
    /// The state after applying `op` at this point, or `None` if `op`'s answer is impossible here.
    /// A CAS applies only when its expected version matches; a failed CAS never reaches the model.
    /// A read that did not answer with a value constrains nothing.
    pub fn step(&self, op: &Op) -> Option<Register> {
        match (&op.kind, &op.outcome) {
            (OpKind::Write(v), _) => Some(self.mutated(Some(v.clone()))),
            (OpKind::Delete, _) => Some(Register {
                value: None,
                version: self.version,
            }),
            (
                OpKind::Cas {
                    expected_version,
                    value,
                },
                _,
            ) => (*expected_version == self.version).then(|| self.mutated(Some(value.clone()))),
            (OpKind::Read, Outcome::ReadValue(seen)) => (*seen == self.value).then(|| self.clone()),
            (OpKind::Read, _) => Some(self.clone()),
        }
    }

    fn mutated(&self, value: Option<String>) -> Register {
        Register {
            value,
            version: self.version + 1,
        }
    }
}
