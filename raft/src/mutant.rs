//! Planted bugs for the mutation gate (`sim/run.sh --mutants`), which proves the chaos
//! simulation can fail. Only a build with the `mutants` feature (never the normal or the plain
//! simulation build) can switch one on, at run time, with `COFFER_MUTANT=<name>`; elsewhere
//! [`mutant`] is a `const fn` answering false and the planted code is dead.
//!
//! The mutants here and in the crates above (`sim/run.sh` lists them all):
//! - `sm_skip_entry`: the state machine skips every normal entry whose index is a multiple of 50;
//! - `snapshot_drops_last_pair`: installing a snapshot drops its last pair;
//! - `fence_ignored`: a fenced command is applied whatever the entry's term (not gated: the
//!   chaos run does not catch it yet);
//! - in node: `read_without_read_index`, `kv_cas_ignored`, `kv_delete_ignored`,
//!   `write_acked_before_commit`, `lease_restore_skipped` (a new active node does not load the
//!   stored leases into its expiry schedule); in barrier: `barrier_plaintext`.

/// Whether the planted bug `name` is switched on (`COFFER_MUTANT=name`, read once).
#[cfg(feature = "mutants")]
pub fn mutant(name: &str) -> bool {
    static ON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ON.get_or_init(|| std::env::var("COFFER_MUTANT").ok())
        .as_deref()
        == Some(name)
}

/// Whether the planted bug `name` is switched on: never, without the `mutants` feature.
#[cfg(not(feature = "mutants"))]
#[inline(always)]
pub const fn mutant(_name: &str) -> bool {
    false
}
