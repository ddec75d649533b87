//! The cluster transport: Raft's RPCs over tonic gRPC on the cluster port.
//!
//! - [`server`]: [`RaftGrpcService`], the inbound side, which hands each RPC to the local
//!   openraft instance (mounted by the node next to its own services, or run alone by [`serve`]);
//! - [`client`]: [`GrpcNetwork`], openraft's network factory, a deadline on every RPC;
//! - [`channels`]: [`PeerChannels`], one lazily connected, long-lived channel per peer and the
//!   client TLS, which the node may set after Raft has started;
//! - [`tls`]: the mutual-TLS settings ([`ServerTls`], [`ClientTls`]). Under `--cfg madsim` the
//!   simulated network has no TLS: the types exist so callers compile unchanged, but nothing
//!   applies them;
//! - `wire`: how openraft messages ride in the protobuf envelopes of `proto/raft.proto`.
//!
//! Payloads are openraft's own messages as JSON; log entries in them carry what node proposed,
//! which is ciphertext. Nothing here looks inside a value.

mod address;
pub mod channels;
pub mod client;
pub mod server;
pub mod tls;
mod wire;

#[cfg(test)]
mod tests;

pub use address::{endpoint_uri, lazy_channel};
pub use channels::PeerChannels;
pub use client::{GrpcNetwork, GrpcPeer};
#[cfg(not(madsim))]
pub use server::{incoming, serve_listener};
pub use server::{serve, RaftGrpcServer, RaftGrpcService};
pub use tls::{ClientTls, ServerTls};

/// The generated protobuf messages and gRPC stubs (real tonic, or madsim's simulated tonic).
#[allow(missing_docs, clippy::all, clippy::pedantic)]
pub mod proto {
    tonic::include_proto!("coffer.raft");
}

/// The largest gRPC message either side accepts: an append-entries batch or a snapshot chunk.
pub const MESSAGE_SIZE_MAX_BYTES: usize = 64 * 1024 * 1024;

/// Why the transport could not be set up or keep serving.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TransportError {
    /// A cluster address is not something a channel can connect to.
    #[error("invalid cluster address {addr:?}: {reason}")]
    InvalidAddress {
        /// The address as configured.
        addr: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The TLS settings were refused (bad PEM, unusable key).
    #[error("cluster TLS: {0}")]
    Tls(String),
    /// The listener could not be bound.
    #[error("cannot listen on {addr}: {reason}")]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        reason: String,
    },
    /// The server stopped with an error.
    #[error("cluster server: {0}")]
    Serve(String),
}
