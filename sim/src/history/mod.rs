//! Operation histories of a key-value register, recorded by the simulator's clients, and of
//! the workload's other subjects: limited-use tokens, a policy rewritten under requests, and
//! secret leases.
//!
//! Plain data: no runtime, no I/O. Times are simulated nanoseconds supplied by the caller.
//! The checkers in [`crate::check`] read these histories.

mod leases;
mod op;
mod policy;
mod recorder;
mod tokens;

pub use leases::{FinalLease, IssuedLease, LeaseHistory, NodeAction, NodeEvent, RevokeRequest};
pub use op::{Op, OpKind, Outcome};
pub use policy::{PolicyHistory, PolicyRead, PolicyWrite};
pub use recorder::{History, OpId};
pub use tokens::{TokenHistory, TokenOp, TokenOpKind, TokenOutcome};
