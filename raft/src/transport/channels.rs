//! [`PeerChannels`]: the long-lived channel to each peer, shared by every RPC to it, and the
//! client TLS they dial with.
//!
//! A node may learn its cluster TLS after Raft has started (a restarted member reads it from
//! behind the barrier at unseal; a joining node gets it in its join challenge), so the TLS is
//! settable at any time: setting it drops every cached channel, and the next RPC to each peer
//! dials afresh with it. RPCs look their channel up here each time rather than keeping one, so
//! no replication stream keeps dialing with settings the node has replaced.

use std::collections::BTreeMap;
use std::sync::Arc;

use parking_lot::{Mutex, RwLock};
use tonic::transport::Channel;

use super::address::lazy_channel;
use super::tls::ClientTls;
use super::TransportError;

/// The channels to a node's peers; see the module docs.
#[derive(Default)]
pub struct PeerChannels {
    tls: RwLock<Option<Arc<ClientTls>>>,
    peers: Mutex<BTreeMap<u64, CachedChannel>>,
}

struct CachedChannel {
    cluster_addr: String,
    channel: Result<Channel, TransportError>,
}

impl std::fmt::Debug for PeerChannels {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerChannels")
            .field("tls", &self.tls.read().is_some())
            .field("peers", &self.peers.lock().keys().collect::<Vec<_>>())
            .finish()
    }
}

impl PeerChannels {
    /// Channels dialing with `tls` (plain when `None`; TLS is never applied under madsim).
    pub fn new(tls: Option<ClientTls>) -> Self {
        PeerChannels {
            tls: RwLock::new(tls.map(Arc::new)),
            peers: Mutex::new(BTreeMap::new()),
        }
    }

    /// Dial every peer with `tls` from now on; cached channels are dropped.
    pub fn set_tls(&self, tls: ClientTls) {
        *self.tls.write() = Some(Arc::new(tls));
        self.peers.lock().clear();
    }

    /// Whether client TLS is set.
    pub fn has_tls(&self) -> bool {
        self.tls.read().is_some()
    }

    /// The channel to `target` at `cluster_addr`: the cached one, or a new one when there is
    /// none yet, the peer's address changed, or the TLS was replaced.
    pub fn channel(&self, target: u64, cluster_addr: &str) -> Result<Channel, TransportError> {
        let mut peers = self.peers.lock();
        if let Some(cached) = peers.get(&target) {
            if cached.cluster_addr == cluster_addr {
                return cached.channel.clone();
            }
        }
        let tls = self.tls.read().clone();
        let channel = lazy_channel(cluster_addr, tls.as_deref());
        if let Err(e) = &channel {
            tracing::warn!(target, error = %e, "no channel to raft peer");
        }
        let cached = CachedChannel {
            cluster_addr: cluster_addr.to_string(),
            channel: channel.clone(),
        };
        peers.insert(target, cached);
        channel
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tls() -> ClientTls {
        ClientTls {
            ca_pem: Vec::new(),
            cert_pem: Vec::new(),
            key_pem: Vec::new(),
            domain: Some("coffer-cluster".into()),
        }
    }

    #[tokio::test]
    async fn setting_tls_drops_the_cached_channels() {
        let channels = PeerChannels::new(None);
        channels.channel(2, "127.0.0.1:1").unwrap();
        channels.channel(3, "127.0.0.1:2").unwrap();
        assert_eq!(channels.peers.lock().len(), 2);
        assert!(!channels.has_tls());
        channels.set_tls(tls());
        assert!(channels.has_tls());
        assert!(channels.peers.lock().is_empty());
    }

    #[tokio::test]
    async fn a_changed_address_gets_a_new_channel() {
        let channels = PeerChannels::new(None);
        channels.channel(2, "127.0.0.1:1").unwrap();
        channels.channel(2, "127.0.0.1:9").unwrap();
        assert_eq!(channels.peers.lock()[&2].cluster_addr, "127.0.0.1:9");
        assert!(channels.channel(2, "").is_err());
    }
}
