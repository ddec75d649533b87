//! coffer-sim: Coffer nodes inside madsim's deterministic simulator.
//!
//! Each simulated node runs `coffer_node::start` — the same entry point `main` uses — on its own
//! madsim node with an in-memory engine that outlives restarts (`coffer_raft::MemEngine`, keyed
//! by node id) and loses unsynced writes when killed. Requests go through the node's real axum
//! app, executed on the node itself, so a killed node stops answering mid-request.
//! The simulated nodes are only built for `--cfg madsim`; the history recorder (`history`) and
//! the checkers (`check`: linearizability, lost writes, duplicates, convergence) are plain logic
//! and build and test in both builds.
//! Never imported by node, raft, barrier or seal.
#![forbid(unsafe_code)]

#[cfg(madsim)]
mod node;

#[cfg(madsim)]
mod client_host;
#[cfg(madsim)]
mod kms;

#[cfg(madsim)]
pub use client_host::ClientHost;
#[cfg(madsim)]
pub use kms::SimKmsHost;
#[cfg(madsim)]
pub use node::{eventually, Reply, SimNode};

#[cfg(madsim)]
pub mod chaos;

pub mod check;
pub mod history;
