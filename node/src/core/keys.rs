//! The key ceremonies in progress on this node: unseal (and seal-migration) shares, rekey of
//! the unseal or recovery key, generate-root, and an authorised seal migration awaiting takeover. Each is a plain state machine from
//! `coffer-seal`; `unseal.rs`, `migrate.rs` and `sys/keys.rs` run them, this only holds them.

use coffer_barrier::RootKey;
use coffer_seal::generate_root::GenerateRootAttempt;
use coffer_seal::progress::KeyCollector;
use coffer_seal::rekey::RekeyOperation;
use parking_lot::Mutex;
use zeroize::Zeroizing;

/// The ceremonies one node has under way (each `None` when none is).
#[derive(Default)]
pub struct KeyCeremonies {
    pub(crate) unseal_progress: Mutex<Option<KeyCollector>>,
    pub(crate) rekey: Mutex<Option<RekeyOperation>>,
    /// A rekey of the recovery key (`sys/rekey-recovery-key`, auto seal only).
    pub(crate) rekey_recovery: Mutex<Option<RekeyOperation>>,
    /// The root key held between a rekey's authorisation and its verification.
    pub(crate) rekey_root_key: Mutex<Option<RootKey>>,
    pub(crate) generate_root: Mutex<Option<GenerateRootAttempt>>,
    /// A seal migration the operator authorised on this standby (`operator unseal -migrate`):
    /// the combined unseal key (from Shamir) or recovery key (from an auto seal), kept until
    /// this node leads and writes the new seal records, or another node has (`migrate.rs`).
    pub(crate) pending_migration: Mutex<Option<Zeroizing<Vec<u8>>>>,
}
