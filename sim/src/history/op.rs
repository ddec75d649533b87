//! One client operation on one key, from invocation to (maybe) completion.

use std::fmt;

/// What a client asked for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Store a value; values are unique per write within a workload.
    Write(String),
    /// Read the current value.
    Read,
    /// Remove the value (KV v2's soft delete: the version stays).
    Delete,
    /// Store `value` only if the current version equals `expected_version`.
    Cas {
        /// Version the client expects the key to be at.
        expected_version: u64,
        /// Value to store on success; unique like a write's.
        value: String,
    },
}

/// What the client learnt about the operation.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// The operation was acknowledged (a CAS that succeeded, a write or delete that was applied),
    /// with the version the answer reported (KV v2 answers a write or CAS with `data.version`;
    /// a delete reports none).
    Ok(Option<u64>),
    /// A read answered with this value (`None`: the key is absent).
    ReadValue(Option<String>),
    /// Definitely not applied (a 4xx other than a CAS mismatch).
    Failed,
    /// A CAS refused because its expected version did not match ("check-and-set parameter did
    /// not match the current version"): not applied, and the key was at another version at
    /// some point between invocation and answer.
    CasMismatch,
    /// No answer (timed out, node crashed): it may or may not have taken effect.
    Unknown,
}

/// One operation of one client on one key.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct Op {
    /// Client that issued it; a client has at most one operation in flight.
    pub client: u64,
    /// Key it touched.
    pub key: String,
    /// What was asked.
    pub kind: OpKind,
    /// Simulated time the request was sent.
    pub invoked_at: u64,
    /// Simulated time the answer arrived; `None` when no answer came (may or may not have taken effect).
    pub completed_at: Option<u64>,
    /// What the answer said.
    pub outcome: Outcome,
}

impl Op {
    /// Whether it changes the register (write, delete, CAS).
    pub fn is_mutation(&self) -> bool {
        !matches!(self.kind, OpKind::Read)
    }

    /// Whether it may have taken effect: everything but a `Failed` or `CasMismatch` answer.
    pub fn may_take_effect(&self) -> bool {
        !matches!(self.outcome, Outcome::Failed | Outcome::CasMismatch)
    }

    /// The time by which it certainly took effect: its completion, if it was acknowledged.
    pub fn effect_deadline(&self) -> Option<u64> {
        match self.outcome {
            Outcome::Ok(_) | Outcome::ReadValue(_) => self.completed_at,
            Outcome::Failed | Outcome::CasMismatch | Outcome::Unknown => None,
        }
    }

    /// The time by which the op certainly observed the register: its completion, if its
    /// answer says something about the register (acknowledged, or a CAS mismatch).
    pub fn answer_deadline(&self) -> Option<u64> {
        match self.outcome {
            Outcome::CasMismatch => self.completed_at,
            _ => self.effect_deadline(),
        }
    }

    /// Whether it was acknowledged, so it certainly took effect.
    pub fn is_acknowledged(&self) -> bool {
        self.effect_deadline().is_some()
    }

    /// The value a write or CAS stores, if it is one.
    pub fn written_value(&self) -> Option<&str> {
        match &self.kind {
            OpKind::Write(v) | OpKind::Cas { value: v, .. } => Some(v),
            OpKind::Read | OpKind::Delete => None,
        }
    }

    /// The value a read returned, if it is a read that answered.
    pub fn read_value(&self) -> Option<Option<&str>> {
        match (&self.kind, &self.outcome) {
            (OpKind::Read, Outcome::ReadValue(v)) => Some(v.as_deref()),
            _ => None,
        }
    }

    /// Whether `self` finished (acknowledged) before `other` was invoked, so it took effect first.
    pub fn precedes(&self, other: &Op) -> bool {
        self.effect_deadline().is_some_and(|t| t < other.invoked_at)
    }
}

impl fmt::Display for OpKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            OpKind::Write(v) => write!(f, "write {v:?}"),
            OpKind::Read => write!(f, "read"),
            OpKind::Delete => write!(f, "delete"),
            OpKind::Cas {
                expected_version,
                value,
            } => {
                write!(f, "cas(v{expected_version}) {value:?}")
            }
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Outcome::Ok(None) => write!(f, "ok"),
            Outcome::Ok(Some(v)) => write!(f, "ok (version {v})"),
            Outcome::ReadValue(Some(v)) => write!(f, "{v:?}"),
            Outcome::ReadValue(None) => write!(f, "absent"),
            Outcome::Failed => write!(f, "failed"),
            Outcome::CasMismatch => write!(f, "failed: cas mismatch"),
            Outcome::Unknown => write!(f, "unknown"),
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let done = self.completed_at.map_or("?".to_string(), |t| t.to_string());
        write!(
            f,
            "client {} {} {:?} @[{}, {}] -> {}",
            self.client, self.kind, self.key, self.invoked_at, done, self.outcome
        )
    }
}
