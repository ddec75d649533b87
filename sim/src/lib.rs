//! coffer-sim: Coffer nodes inside madsim's deterministic simulator.
//!
//! Each simulated node runs `coffer_node::start` — the same entry point `main` uses — on its own
//! madsim node with an in-memory engine that outlives restarts (`coffer_raft::MemEngine`, keyed
//! by node id) and loses unsynced writes when killed. Requests go through the node's real axum
//! app, executed on the node itself, so a killed node stops answering mid-request.
//! Only built for `--cfg madsim`; in a normal build this crate is empty.
//! Never imported by node, raft, barrier or seal.
#![forbid(unsafe_code)]

#[cfg(madsim)]
mod node;

#[cfg(madsim)]
pub use node::{eventually, Reply, SimNode};
