//! Limited-use tokens are never used more than `num_uses` times, and a revoked token is never
//! honoured afterwards.
//!
//! Rules, per token:
//! - the uses the cluster served (2xx answers) number at most the token's `num_uses`; a use
//!   without an answer may or may not have spent one, so only served uses count;
//! - once a revocation is acknowledged, no use invoked after that acknowledgement is served.

use super::{Violation, ViolationKind};
use crate::history::{TokenHistory, TokenOp, TokenOpKind, TokenOutcome};

/// Checks every token of `history`.
pub fn check_tokens(history: &TokenHistory) -> Result<(), Violation> {
    for (&token, &limit) in &history.limits {
        let ops: Vec<&TokenOp> = history.ops.iter().filter(|op| op.token == token).collect();
        let served: Vec<&TokenOp> = ops
            .iter()
            .copied()
            .filter(|op| op.kind == TokenOpKind::Use && op.outcome == TokenOutcome::Ok)
            .collect();
        if served.len() as u64 > limit {
            let explanation = format!(
                "token created with num_uses {limit} was served {} times",
                served.len()
            );
            return Err(violation(
                ViolationKind::TokenOverused,
                token,
                explanation,
                &served,
            ));
        }
        let revoked = ops
            .iter()
            .filter(|op| op.kind == TokenOpKind::Revoke && op.outcome == TokenOutcome::Ok)
            .filter_map(|op| op.completed_at.map(|t| (t, *op)))
            .min_by_key(|(t, _)| *t);
        if let Some((at, revoke)) = revoked {
            if let Some(late) = served.iter().find(|op| op.invoked_at > at) {
                let explanation = format!(
                    "a use invoked after the revocation was acknowledged (at {at}) was served"
                );
                let shown = [revoke, *late];
                return Err(violation(
                    ViolationKind::UsedAfterRevoke,
                    token,
                    explanation,
                    &shown,
                ));
            }
        }
    }
    Ok(())
}

fn violation(kind: ViolationKind, token: u64, explanation: String, ops: &[&TokenOp]) -> Violation {
    let mut explanation = explanation;
    for op in ops {
        explanation.push_str(&format!("\n    {op}"));
    }
    Violation {
        kind,
        key: format!("token {token}"),
        explanation,
        ops: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(
        token: u64,
        kind: TokenOpKind,
        inv: u64,
        done: Option<u64>,
        outcome: TokenOutcome,
    ) -> TokenOp {
        TokenOp {
            client: 1,
            token,
            kind,
            invoked_at: inv,
            completed_at: done,
            outcome,
        }
    }

    fn served(inv: u64) -> TokenOp {
        op(0, TokenOpKind::Use, inv, Some(inv + 1), TokenOutcome::Ok)
    }

    fn history(limit: u64, ops: impl IntoIterator<Item = TokenOp>) -> TokenHistory {
        TokenHistory {
            limits: [(0, limit)].into(),
            ops: ops.into_iter().collect(),
        }
    }

    fn kind_of(h: &TokenHistory) -> Option<ViolationKind> {
        check_tokens(h).err().map(|v| v.kind)
    }

    #[test]
    fn uses_within_the_limit_pass() {
        let unknown = op(0, TokenOpKind::Use, 10, None, TokenOutcome::Unknown);
        let denied = op(0, TokenOpKind::Use, 20, Some(21), TokenOutcome::Denied);
        let h = history(3, [served(0), served(2), unknown, served(4), denied]);
        assert_eq!(kind_of(&h), None);
    }

    #[test]
    fn one_use_too_many_is_caught() {
        let h = history(3, [served(0), served(2), served(4), served(6)]);
        let v = check_tokens(&h).unwrap_err();
        assert_eq!(v.kind, ViolationKind::TokenOverused);
        assert!(v.explanation.contains("served 4 times"), "{v}");
    }

    #[test]
    fn use_after_acknowledged_revoke_is_caught() {
        let revoke = op(0, TokenOpKind::Revoke, 5, Some(8), TokenOutcome::Ok);
        // Served while the revocation was in flight: fine.
        let h = history(5, [served(0), revoke.clone(), served(6)]);
        assert_eq!(kind_of(&h), None);
        let h = history(5, [served(0), revoke, served(9)]);
        assert_eq!(kind_of(&h), Some(ViolationKind::UsedAfterRevoke));
        // An unanswered revocation proves nothing.
        let unknown = op(0, TokenOpKind::Revoke, 5, None, TokenOutcome::Unknown);
        assert_eq!(kind_of(&history(5, [unknown, served(9)])), None);
    }
}
