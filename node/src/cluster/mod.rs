//! Cluster membership seen from the node: the join handshake that proves a joining node holds
//! the cluster's unseal keys before it receives anything it could use (`join.rs`).
//! The Raft transport itself lives in `coffer-raft`.

pub mod join;
