//! # coffer-barrier
//!
//! The encryption barrier: everything Coffer stores after unseal passes through here and leaves
//! as ciphertext.
//!
//! This crate owns:
//! - the [`Physical`] trait (where bytes go) and [`MemPhysical`], an in-memory implementation;
//! - the stored value format and AES-256-GCM with the full storage path as AAD (`aead.rs`);
//! - the keyring of numbered *terms*, persisted at `core/keyring` under the [`RootKey`], with
//!   each term's encryption count kept so it never reads low (`counter.rs`);
//! - [`rotation_due`], the verdict on when the newest term must be rotated;
//! - the [`Barrier`]: seal/unseal, encrypted get/put/delete/list, rotation and keyring reload;
//! - [`conformance`], the one suite every `Physical` implementation must pass.
//!
//! It must never import `coffer-raft`, `coffer-node`, `coffer-seal`, or anything HTTP. It does
//! not know how the root key is protected (that is the seal's job) nor where the bytes are
//! replicated (that is node's adapter over raft). All randomness comes from `getrandom` 0.3 so
//! the crate stays deterministic under madsim.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod aead;
mod barrier;
pub mod conformance;
mod counter;
mod error;
mod keyring;
mod memory;
mod mutant;
mod physical;
mod random;
mod root_key;
mod rotation;

pub use aead::DecryptError;
pub use barrier::{Barrier, KEYRING_PATH};
pub use conformance::run_physical_suite;
pub use counter::RESERVATION_BLOCK;
pub use error::BarrierError;
pub use keyring::KeyInfo;
pub use memory::MemPhysical;
pub use physical::{Physical, PhysicalError};
pub use root_key::RootKey;
pub use rotation::{rotation_due, RotationPolicy, RotationReason, MAX_OPERATIONS_DEFAULT};
