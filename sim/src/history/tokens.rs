//! Uses and revocations of limited-use tokens, recorded by the chaos clients.

use std::collections::BTreeMap;
use std::fmt;

/// What a client did with a token.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOpKind {
    /// A request authenticated by the token (it spends one of its uses).
    Use,
    /// The token's revocation (by the root token).
    Revoke,
}

/// What the answer said.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenOutcome {
    /// 2xx: the use was served, or the revocation done.
    Ok,
    /// 403: the token was refused.
    Denied,
    /// No answer, or one that proves nothing either way (5xx, dropped connection).
    Unknown,
}

/// One use or revocation of one token.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenOp {
    pub client: u64,
    /// Which token (index in the order they were created).
    pub token: u64,
    pub kind: TokenOpKind,
    pub invoked_at: u64,
    /// When the answer came; `None` without one.
    pub completed_at: Option<u64>,
    pub outcome: TokenOutcome,
}

impl fmt::Display for TokenOp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let done = self.completed_at.map_or("?".to_string(), |t| t.to_string());
        write!(
            f,
            "client {} {:?} token {} @[{}, {}] -> {:?}",
            self.client, self.kind, self.token, self.invoked_at, done, self.outcome
        )
    }
}

/// Every limited-use token of a run (with its `num_uses`) and what was done with it.
#[derive(Clone, Debug, Default)]
pub struct TokenHistory {
    /// Token index → the `num_uses` it was created with.
    pub limits: BTreeMap<u64, u64>,
    pub ops: Vec<TokenOp>,
}

impl TokenHistory {
    /// Uses the cluster served (2xx answers).
    pub fn served_uses(&self) -> usize {
        let served = |op: &&TokenOp| op.kind == TokenOpKind::Use && op.outcome == TokenOutcome::Ok;
        self.ops.iter().filter(served).count()
    }
}
