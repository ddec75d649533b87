//! Operation histories of a key-value register, recorded by the simulator's clients, and of
//! the workload's other subjects: limited-use tokens and a policy rewritten under requests.
//!
//! Plain data: no runtime, no I/O. Times are simulated nanoseconds supplied by the caller.
//! The checkers in [`crate::check`] read these histories.

mod op;
mod policy;
mod recorder;
mod tokens;

pub use op::{Op, OpKind, Outcome};
pub use policy::{PolicyHistory, PolicyRead, PolicyWrite};
pub use recorder::{History, OpId};
pub use tokens::{TokenHistory, TokenOp, TokenOpKind, TokenOutcome};
