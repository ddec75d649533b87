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
    /// A CAS applies only when its expected version matches; a CAS refused for a mismatch
    /// changes nothing and is possible only where the version differs. An acknowledged write
    /// or CAS that reported a version must leave the register at exactly that version.
    /// A read that did not answer with a value constrains nothing.
    pub fn step(&self, op: &Op) -> Option<Register> {
        let next = match (&op.kind, &op.outcome) {
            (OpKind::Write(v), _) => self.mutated(Some(v.clone())),
            (OpKind::Delete, _) => Register {
                value: None,
                version: self.version,
            },
            (
                OpKind::Cas {
                    expected_version, ..
                },
                Outcome::CasMismatch,
            ) => return (*expected_version != self.version).then(|| self.clone()),
            (
                OpKind::Cas {
                    expected_version,
                    value,
                },
                _,
            ) if *expected_version == self.version => self.mutated(Some(value.clone())),
            (OpKind::Cas { .. }, _) => return None,
            (OpKind::Read, Outcome::ReadValue(seen)) => {
                return (*seen == self.value).then(|| self.clone())
            }
            (OpKind::Read, _) => return Some(self.clone()),
        };
        match op.outcome {
            Outcome::Ok(Some(reported)) if reported != next.version => None,
            _ => Some(next),
        }
    }

    fn mutated(&self, value: Option<String>) -> Register {
        Register {
            value,
            version: self.version + 1,
        }
    }
}
