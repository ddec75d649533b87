//! coffer-seal: everything about the keys *above* the barrier's root key.
//!
//! Owns: Shamir split/combine of unseal and recovery keys ([`shamir`]), the
//! share collector behind unseal, rekey and generate-root ([`progress`]),
//! the rekey and generate-root state machines as plain data ([`rekey`],
//! [`generate_root`]), the [`Seal`] trait that wraps the root key with its
//! Shamir implementation and the shared conformance suite ([`seal`]), the
//! plain `core/seal-config` record ([`config`]), the transit seal that asks
//! another cluster's transit engine ([`transit`]), the simulated KMS of the
//! madsim build ([`simkms`]), and the crate's one source
//! of randomness ([`rng`], getrandom 0.3 so madsim can make it
//! deterministic).
//!
//! Never: storage I/O, HTTP, raft. This crate must never import
//! coffer-barrier, coffer-raft or coffer-node; the node does the I/O (reads
//! the wrapped root key, checks a reconstructed key opens it, stores the
//! results) and calls in here for the decisions. No randomness from `rand`
//! 0.8 (`thread_rng`, `OsRng`) or blahaj's `dealer()` (`rand::rng()`). Key material is
//! zeroized on drop and never appears in `Debug` output or error messages.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(madsim))]
pub mod awskms;
pub mod config;
pub mod error;
pub mod generate_root;
#[cfg(not(madsim))]
pub mod pkcs11;
pub mod progress;
pub mod rekey;
pub mod rng;
pub mod seal;
pub mod shamir;
#[cfg(madsim)]
pub mod simkms;
#[cfg(not(madsim))]
pub mod transit;

#[cfg(not(madsim))]
pub use awskms::{AwsKmsConfig, AwsKmsSeal};
pub use config::SealConfig;
pub use error::SealError;
pub use generate_root::{decode_token, encode_token, GenerateRootAttempt, GenerateRootStatus};
#[cfg(not(madsim))]
pub use pkcs11::{Pkcs11Config, Pkcs11Seal};
pub use progress::{decode_key, KeyCollector};
pub use rekey::{RekeyConfig, RekeyOperation, RekeyOutput};
pub use seal::{seal_conformance_suite, Seal, ShamirSeal};
#[cfg(madsim)]
pub use simkms::{SimKmsFaults, SimKmsSeal, SimKmsServer};
#[cfg(not(madsim))]
pub use transit::{TransitConfig, TransitSeal};
