//! History checkers: one property per file, plain functions over plain data.
//!
//! - [`check_linearizable`]: per-key linearizability (Wing–Gong–Lowe search).
//! - [`check_no_lost_writes`]: the healed cluster's final values keep every acknowledged write.
//! - [`converged`]: all nodes hold the same state after healing.
//! - [`check_no_duplicates`]: no value comes back after being overwritten, none is read that was
//!   never (successfully) written.
//! - [`check_tokens`]: limited-use tokens served at most `num_uses` times, none after revocation.
//! - [`check_policy`]: a request after an acknowledged policy change never gets the old verdict.
//! - [`check_transit`]: every acknowledged ciphertext decrypts to its plaintext.
//! - [`check_leases_revoked_once`]: no secret lease is revoked twice.
//! - [`check_leases_not_early`]: none is revoked before its expiry (within clock skew) unless
//!   a request asked.
//! - [`check_leases_expired`]: after healing, every lease is gone by its expiry plus a bound.

mod converged;
mod duplicates;
mod lease_expired;
mod lease_not_early;
mod lease_once;
mod linearizable;
mod lost_writes;
mod model;
mod policy;
mod symmetry;
mod tokens;
mod transit;
mod violation;

#[cfg(test)]
mod fixtures;
#[cfg(test)]
mod lease_fixtures;
#[cfg(test)]
mod self_check;

pub use converged::converged;
pub use duplicates::check_no_duplicates;
pub use lease_expired::{check_leases_expired, deadline as lease_deadline, LIVENESS_BOUND_MS};
pub use lease_not_early::{check_leases_not_early, MAX_SKEW_SPREAD_MS};
pub use lease_once::check_leases_revoked_once;
pub use linearizable::{check_linearizable, MAX_OPS_PER_KEY, MAX_SEARCH_STATES};
pub use lost_writes::check_no_lost_writes;
pub use model::Register;
pub use policy::check_policy;
pub use tokens::check_tokens;
pub use transit::{check_transit, Decrypted};
pub use violation::{Violation, ViolationKind};
