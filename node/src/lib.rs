//! coffer-node: the Coffer server and CLI client.
//!
//! Owns configuration, listeners, the HTTP API, the request pipeline (token → ACL → router →
//! mount → engine), the system backend, tokens, policies, secret engines and the CLI. It adapts
//! `coffer-barrier`'s `Physical` onto `coffer-raft` (or an in-memory map for `storage "inmem"`).
//! It is the only crate that knows all three of barrier, seal and raft; none of them imports it.
#![forbid(unsafe_code)]

#[cfg(not(madsim))]
pub mod agent;
pub mod api_client;
pub mod audit;
pub mod auth;
pub mod auto_unseal;
pub mod cidr;
#[cfg(not(madsim))]
pub mod cli;
pub mod clock;
pub mod cluster;
pub mod config;
mod config_check;
pub mod core;
#[cfg(not(madsim))]
pub mod csi_provider;
pub mod duration;
pub mod engines;
pub mod error;
pub mod fields;
pub mod http;
pub mod identity;
pub mod ids;
#[cfg(not(madsim))]
pub mod injector;
#[cfg(not(madsim))]
pub mod kms_plugin;
pub mod lease;
pub mod link;
pub mod metrics;
pub mod migrate;
pub mod mounts;
pub mod off_worker;
pub mod physical;
pub mod pipeline;
#[cfg(not(madsim))]
pub mod plugin_client;
pub mod policy;
pub mod policy_store;
pub mod quota;
pub mod records;
pub mod request;
pub mod routed;
pub mod router;
pub mod server;
pub mod service_registration;
#[cfg(not(madsim))]
mod static_rotation;
pub mod storage;
pub mod sys;
pub mod sys_paths;
#[cfg(test)]
mod testkit;
pub mod token;
pub mod ui;
#[cfg(not(madsim))]
pub mod unix_socket;
pub mod unseal;
pub mod wrap;

pub use server::{start, ServerHandle, StorageHandle};
