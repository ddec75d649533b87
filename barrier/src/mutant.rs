//! Planted bugs for the mutation gate (`sim/run.sh --mutants`; see `coffer_raft::mutant`, which
//! this crate cannot import). Only a build with the `mutants` feature can switch one on, with
//! `COFFER_MUTANT=<name>`; elsewhere [`mutant`] is a `const fn` answering false.
//!
//! - `barrier_plaintext`: the AEAD stores values unencrypted (and reads them back as such).

/// Whether the planted bug `name` is switched on (`COFFER_MUTANT=name`, read once).
#[cfg(feature = "mutants")]
pub(crate) fn mutant(name: &str) -> bool {
    static ON: std::sync::OnceLock<Option<String>> = std::sync::OnceLock::new();
    ON.get_or_init(|| std::env::var("COFFER_MUTANT").ok())
        .as_deref()
        == Some(name)
}

/// Whether the planted bug `name` is switched on: never, without the `mutants` feature.
#[cfg(not(feature = "mutants"))]
#[inline(always)]
pub(crate) const fn mutant(_name: &str) -> bool {
    false
}
