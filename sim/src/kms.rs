//! The simulated KMS host: `coffer_seal::SimKmsServer` on its own simulated host, with the
//! switches a fault flips (failing, slow) and the network cuts that reach it like any host.

use coffer_seal::{SimKmsFaults, SimKmsServer};
use madsim::runtime::Handle;
use madsim::task::NodeId;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The KMS's port on its host.
const PORT: u16 = 9000;

/// A running simulated KMS.
pub struct SimKmsHost {
    /// Where nodes reach it (their `seal "simkms" { address }`).
    pub addr: SocketAddr,
    faults: Arc<SimKmsFaults>,
    id: NodeId,
}

impl SimKmsHost {
    /// Start the KMS on its own host at `ip`. Its key outlives restarts of the host.
    pub fn start(ip: IpAddr) -> SimKmsHost {
        let faults = Arc::new(SimKmsFaults::default());
        let server = Arc::new(SimKmsServer::new(faults.clone()));
        let addr = SocketAddr::new(ip, PORT);
        let handle = Handle::current()
            .create_node()
            .name("kms")
            .ip(ip)
            .init(move || {
                let server = server.clone();
                async move {
                    if let Err(e) = server.serve(addr).await {
                        tracing::error!(error = %e, "simulated KMS stopped");
                    }
                }
            })
            .build();
        SimKmsHost {
            addr,
            faults,
            id: handle.id(),
        }
    }

    /// Make every request fail (an outage of the service, not of the network), or stop that.
    pub fn set_failing(&self, failing: bool) {
        self.faults.failing.store(failing, Ordering::Relaxed);
    }

    /// Make the KMS answer `delay` late (zero: at once).
    pub fn set_delay(&self, delay: Duration) {
        self.faults
            .delay_ms
            .store(delay.as_millis() as u64, Ordering::Relaxed);
    }

    /// Requests the KMS has answered.
    pub fn answered(&self) -> u64 {
        self.faults.answered.load(Ordering::Relaxed)
    }

    /// Cut the KMS host off the network.
    pub fn clog(&self) {
        madsim::net::NetSim::current().clog_node(self.id);
    }

    /// Reconnect the KMS host.
    pub fn unclog(&self) {
        madsim::net::NetSim::current().unclog_node(self.id);
    }
}
