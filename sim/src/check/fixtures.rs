//! Hand-written histories for the checkers' tests.

use crate::history::{History, Op, OpKind, Outcome};

/// An operation on key "k".
pub fn op(client: u64, kind: OpKind, invoked_at: u64, done: Option<u64>, outcome: Outcome) -> Op {
    Op {
        client,
        key: "k".into(),
        kind,
        invoked_at,
        completed_at: done,
        outcome,
    }
}

/// An acknowledged write of `v` over `[inv, done]`.
pub fn write(client: u64, v: &str, inv: u64, done: u64) -> Op {
    op(
        client,
        OpKind::Write(v.into()),
        inv,
        Some(done),
        Outcome::Ok(None),
    )
}

/// A read over `[inv, done]` that returned `v`.
pub fn read(client: u64, v: Option<&str>, inv: u64, done: u64) -> Op {
    op(
        client,
        OpKind::Read,
        inv,
        Some(done),
        Outcome::ReadValue(v.map(String::from)),
    )
}

/// A write of `v` invoked at `inv` that never answered.
pub fn timed_out_write(client: u64, v: &str, inv: u64) -> Op {
    op(client, OpKind::Write(v.into()), inv, None, Outcome::Unknown)
}

/// A write of `v` over `[inv, done]` answered as definitely not applied.
pub fn failed_write(client: u64, v: &str, inv: u64, done: u64) -> Op {
    op(
        client,
        OpKind::Write(v.into()),
        inv,
        Some(done),
        Outcome::Failed,
    )
}

/// A history from operations.
pub fn history(ops: impl IntoIterator<Item = Op>) -> History {
    ops.into_iter().collect()
}
