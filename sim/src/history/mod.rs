//! Operation histories of a key-value register, recorded by the simulator's clients.
//!
//! Plain data: no runtime, no I/O. Times are simulated nanoseconds supplied by the caller.
//! The checkers in [`crate::check`] read these histories.

mod op;
mod recorder;

pub use op::{Op, OpKind, Outcome};
pub use recorder::{History, OpId};
