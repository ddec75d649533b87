//! The cluster link: what one node keeps to reach its peers, below the request pipeline.
//! The cluster certificate (`tls.rs`), the join challenge as plain functions (`join.rs`),
//! standby → active forwarding over gRPC (`forward.rs`: the client `Forwarder` and the server
//! `ForwardService`), and the cluster port that carries Raft and forwarding (`port.rs`).
//! Join challenges this node issued are kept bounded and expiring (`challenges.rs`). The
//! drain gate that holds requests while a stopping active node hands over is `drain.rs`.
//! `ClusterLink` bundles the live pieces; `Core` holds one. What *uses* the link with the
//! node's state (deciding to forward, joining, autopilot, opening the port at unseal) lives
//! above, in `cluster/`. This module never imports `core`, `cluster` or `http`.

pub mod challenges;
pub mod drain;
pub mod forward;
pub mod join;
pub mod port;
pub mod tls;

use challenges::ChallengeBook;
use coffer_raft::ClusterNode;
use drain::DrainGate;
use forward::Forwarder;
use join::{ChallengeBundle, Expected};
use parking_lot::Mutex;
use port::ClusterPort;
use std::sync::OnceLock;

/// A challenge this node received and has not answered yet.
pub struct PendingJoin {
    pub bundle: ChallengeBundle,
    pub leader_api_addr: String,
    pub leader_ca_pem: Option<String>,
    pub non_voter: bool,
}

/// A challenge the active node issued and waits to see answered.
pub struct IssuedChallenge {
    pub expected: Expected,
    pub member: ClusterNode,
    pub non_voter: bool,
}

/// One node's link to its peers.
pub struct ClusterLink {
    /// Relays requests to the active node while this one is a standby.
    pub forwarder: Forwarder,
    /// Raft RPCs and forwarding, open once the node knows the cluster certificate.
    pub port: tokio::sync::Mutex<Option<ClusterPort>>,
    /// The node's HTTP app: the cluster port answers forwarded requests with it. Set once, at
    /// start, before anything can open the port.
    app: OnceLock<axum::Router>,
    /// A join challenge this node received and will answer at unseal.
    pub pending_join: Mutex<Option<PendingJoin>>,
    /// Join challenges this (active) node issued, by server id.
    pub challenges: Mutex<ChallengeBook<IssuedChallenge>>,
    /// Holds requests while this node stops and hands leadership over.
    pub drain: DrainGate,
}

impl Default for ClusterLink {
    fn default() -> Self {
        ClusterLink {
            forwarder: Forwarder::new(None),
            port: tokio::sync::Mutex::new(None),
            app: OnceLock::new(),
            pending_join: Mutex::new(None),
            challenges: Mutex::new(ChallengeBook::default()),
            drain: DrainGate::default(),
        }
    }
}

impl ClusterLink {
    /// Hand the link the node's HTTP app (once; later calls keep the first).
    pub fn set_app(&self, app: axum::Router) {
        let _ = self.app.set(app);
    }

    /// The node's HTTP app, once `set_app` ran.
    pub fn app(&self) -> Option<axum::Router> {
        self.app.get().cloned()
    }

    /// Where the cluster port listens, once it is open.
    pub fn port_addr(&self) -> Option<std::net::SocketAddr> {
        self.port
            .try_lock()
            .ok()
            .and_then(|p| p.as_ref().map(|p| p.local_addr))
    }
}
