//! The one error every checker returns.

use std::fmt;

use crate::history::Op;

/// Which property broke.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ViolationKind {
    /// No order of the key's operations explains what the clients saw.
    NotLinearizable,
    /// The key has more operations than the linearizability search accepts.
    TooManyOps,
    /// The search gave up after [`super::MAX_SEARCH_STATES`] states; nothing was proven.
    SearchBudgetExceeded,
    /// A final value does not reflect an acknowledged mutation.
    LostWrite,
    /// Nodes disagree after healing.
    Diverged,
    /// A value was applied twice (or two writes carried one value).
    DuplicateValue,
    /// A value was observed that no write that may have taken effect produced.
    PhantomValue,
    /// A limited-use token was served more times than its `num_uses`.
    TokenOverused,
    /// A token was served by a request invoked after its revocation was acknowledged.
    UsedAfterRevoke,
    /// A request invoked after a policy change was acknowledged got an older policy's verdict.
    StalePolicy,
    /// An acknowledged ciphertext did not decrypt to its plaintext.
    CiphertextLost,
    /// Two revocations of one secret lease were carried out.
    LeaseRevokedTwice,
    /// A secret lease was revoked before its expiry (beyond clock skew) without a request.
    LeaseRevokedEarly,
    /// A secret lease outlived its expiry (or the heal) by more than the liveness bound.
    LeaseOutlived,
}

/// A broken property, with the operations that show it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Violation {
    /// Which property broke.
    pub kind: ViolationKind,
    /// The key concerned (or the token, policy or transit key).
    pub key: String,
    /// Readable account of what went wrong.
    pub explanation: String,
    /// The operations involved.
    pub ops: Vec<Op>,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{:?} on key {:?}: {}",
            self.kind, self.key, self.explanation
        )?;
        for op in &self.ops {
            writeln!(f, "  {op}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Violation {}
