//! Three nodes over RocksDB, real tonic servers on loopback ports, mutual TLS.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tempfile::TempDir;
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic::Code;

use super::pki::{NodeCert, Pki};
use super::*;
use crate::transport::proto::raft_service_client::RaftServiceClient;
use crate::transport::proto::RaftRequest;
use crate::transport::{lazy_channel, serve_listener, TransportError};
use crate::{ClusterMember, ClusterNode, RocksEngine};

/// A running node: its Raft, and its cluster server until `stop` fires.
struct TlsNode {
    addr: SocketAddr,
    raft: RaftHandle,
    stop: oneshot::Sender<()>,
    server: JoinHandle<Result<(), TransportError>>,
}

struct TlsCluster {
    tune: fn(RaftConfig) -> RaftConfig,
    pki: Pki,
    certs: BTreeMap<u64, NodeCert>,
    dirs: BTreeMap<u64, TempDir>,
    nodes: BTreeMap<u64, TlsNode>,
}

impl TlsCluster {
    /// Nodes `ids`, each with its own RocksDB directory and an ephemeral port; none bootstrapped.
    async fn start(ids: &[u64]) -> TlsCluster {
        Self::start_tuned(ids, |config| config).await
    }

    async fn start_tuned(ids: &[u64], tune: fn(RaftConfig) -> RaftConfig) -> TlsCluster {
        let pki = Pki::new("coffer test cluster CA");
        let mut cluster = TlsCluster {
            tune,
            certs: ids
                .iter()
                .map(|&id| (id, pki.node(&format!("node-{id}"))))
                .collect(),
            dirs: ids
                .iter()
                .map(|&id| (id, tempfile::tempdir().unwrap()))
                .collect(),
            nodes: BTreeMap::new(),
            pki,
        };
        let any_port: SocketAddr = "127.0.0.1:0".parse().unwrap();
        for &id in ids {
            cluster.start_node(id, any_port).await;
        }
        cluster
    }

    async fn start_node(&mut self, id: u64, addr: SocketAddr) {
        let listener = TcpListener::bind(addr).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let engine = Arc::new(RocksEngine::open(self.dirs[&id].path()).unwrap());
        let client_tls = self.pki.client_tls(&self.certs[&id]);
        let config = (self.tune)(config(id, format!("https://{addr}")));
        let raft = RaftHandle::start_cluster(config, engine, Some(client_tls))
            .await
            .unwrap();
        let server_tls = self.pki.server_tls(&self.certs[&id]);
        let (stop, stopped) = oneshot::channel::<()>();
        let served = raft.clone();
        let server = tokio::spawn(async move {
            let shutdown = async move {
                let _ = stopped.await;
            };
            serve_listener(&served, listener, Some(server_tls), shutdown).await
        });
        let node = TlsNode {
            addr,
            raft,
            stop,
            server,
        };
        self.nodes.insert(id, node);
    }

    /// Shut node `id` down and release its port and its RocksDB directory; returns its address.
    async fn stop_node(&mut self, id: u64) -> SocketAddr {
        let node = self.nodes.remove(&id).unwrap();
        node.raft.shutdown().await.unwrap();
        let _ = node.stop.send(());
        node.server.await.unwrap().unwrap();
        node.addr
    }

    fn raft(&self, id: u64) -> &RaftHandle {
        &self.nodes[&id].raft
    }

    fn member(&self, id: u64) -> ClusterNode {
        let node = &self.nodes[&id];
        ClusterNode {
            api_addr: format!("https://api-{id}:8200"),
            cluster_addr: format!("https://{}", node.addr),
        }
    }

    async fn leader(&self) -> RaftHandle {
        let mut found = None;
        eventually("a leader", || {
            found = leader_among(self.nodes.values().map(|n| &n.raft)).cloned();
            std::future::ready(found.is_some())
        })
        .await;
        found.unwrap()
    }

    async fn write_through_leader(&self, range: std::ops::Range<usize>) {
        write_through(|| self.leader(), range).await;
    }

    async fn shutdown(mut self) {
        for id in self.nodes.keys().copied().collect::<Vec<_>>() {
            self.stop_node(id).await;
        }
    }
}

#[tokio::test]
async fn three_nodes_over_mutual_tls_survive_losing_the_leader() {
    let mut cluster = TlsCluster::start(&[1, 2, 3]).await;
    {
        let first = cluster.raft(1).clone();
        first.bootstrap_single().await.unwrap();
        first.wait_leader(WAIT).await.unwrap();
        for id in [2, 3] {
            first.add_voter(id, cluster.member(id), WAIT).await.unwrap();
        }
        let voters = first.membership().into_iter().filter(|m| m.voter);
        let voter_ids: Vec<u64> = voters.map(|m| m.node_id).collect();
        assert_eq!(voter_ids, vec![1, 2, 3]);
    } // no handle may outlive its node: a stopped node's RocksDB directory is reopened below

    cluster.write_through_leader(0..100).await;
    for id in [1, 2, 3] {
        let raft = cluster.raft(id).clone();
        let what = format!("node {id} applies 100 writes");
        eventually(&what, || has_all(&raft, 0..100)).await;
    }

    let old = cluster.leader().await.metrics().node_id;
    let old_addr = cluster.stop_node(old).await;
    cluster.write_through_leader(100..120).await;
    let new_leader = confirmed_leader(|| cluster.leader()).await;
    assert_ne!(new_leader.metrics().node_id, old);
    assert!(
        has_all(&new_leader, 0..120).await,
        "read index, then every write is there"
    );
    for raft in cluster.nodes.values().map(|n| &n.raft) {
        eventually("survivors apply the writes", || has_all(raft, 0..120)).await;
    }
    drop(new_leader);

    cluster.start_node(old, old_addr).await;
    let restarted = cluster.raft(old).clone();
    eventually("the old leader catches up", || has_all(&restarted, 0..120)).await;
    eventually("the old leader follows another node", || {
        let leader = restarted.metrics().leader_id;
        std::future::ready(leader.is_some() && leader != Some(old))
    })
    .await;
    let members: Vec<ClusterMember> = restarted.membership();
    assert_eq!(members.len(), 3, "{members:?}");
    drop(restarted);
    cluster.shutdown().await;
}

/// Values big enough that the snapshot of 100 of them spans several messages.
fn bulky(i: usize) -> Vec<u8> {
    let mut bytes = value(i).into_bytes();
    bytes.resize(48 * 1024, b'.');
    bytes
}

#[tokio::test]
async fn a_late_voter_catches_up_from_a_streamed_snapshot() {
    let cluster = TlsCluster::start_tuned(&[1, 2], |config| RaftConfig {
        snapshot_threshold: 20,
        trailing_logs: 5,
        ..config
    })
    .await;
    let first = cluster.raft(1).clone();
    first.bootstrap_single().await.unwrap();
    first.wait_leader(WAIT).await.unwrap();
    for i in 0..100 {
        let cmd = Command::Put {
            key: key(i),
            value: bulky(i),
        };
        first.write(cmd).await.unwrap();
    }
    eventually("the log is purged behind a snapshot", || {
        std::future::ready(first.metrics().purged_index >= Some(50))
    })
    .await;

    first.add_voter(2, cluster.member(2), WAIT).await.unwrap();
    let second = cluster.raft(2).clone();
    eventually("the new voter installs the snapshot", || async {
        second.get(&key(99)).await.unwrap() == Some(bulky(99))
    })
    .await;
    for i in 0..100 {
        assert_eq!(
            second.get(&key(i)).await.unwrap(),
            Some(bulky(i)),
            "{}",
            key(i)
        );
    }
    assert!(
        second.metrics().snapshot_index >= Some(50),
        "{:?}",
        second.metrics()
    );
    drop((first, second));
    cluster.shutdown().await;
}

/// Call `Vote` with a payload that is not JSON: a client that passes the TLS handshake gets
/// `INVALID_ARGUMENT` from the service; one that does not never reaches it.
async fn call_with_garbage(channel: Channel) -> Code {
    let mut client = RaftServiceClient::new(channel);
    let request = RaftRequest {
        payload: b"not json".to_vec(),
    };
    let answer = tokio::time::timeout(Duration::from_secs(10), client.vote(request)).await;
    match answer.expect("the server answers or hangs up within 10 s") {
        Ok(_) => Code::Ok,
        Err(status) => status.code(),
    }
}

fn https(addr: SocketAddr, tls: ClientTlsConfig) -> Channel {
    let endpoint = Endpoint::from_shared(format!("https://{addr}")).unwrap();
    endpoint.tls_config(tls).unwrap().connect_lazy()
}

fn assert_refused(code: Code, what: &str) {
    assert!(
        code != Code::InvalidArgument && code != Code::Ok,
        "{what}: the call reached the service ({code:?})"
    );
}

#[tokio::test]
async fn cluster_port_refuses_clients_without_a_valid_certificate() {
    let cluster = TlsCluster::start(&[1]).await;
    let raft = cluster.raft(1).clone();
    raft.bootstrap_single().await.unwrap();
    raft.wait_leader(WAIT).await.unwrap();
    let addr = cluster.nodes[&1].addr;
    let member_tls = cluster.pki.client_tls(&cluster.certs[&1]);
    let trusted = || lazy_channel(&format!("https://{addr}"), Some(&member_tls)).unwrap();
    let good = call_with_garbage(trusted()).await;
    assert_eq!(
        good,
        Code::InvalidArgument,
        "a member's client gets through TLS"
    );

    let ca = Certificate::from_pem(cluster.pki.ca_pem());
    let no_cert = ClientTlsConfig::new()
        .ca_certificate(ca)
        .domain_name("localhost");
    assert_refused(
        call_with_garbage(https(addr, no_cert)).await,
        "no client certificate",
    );

    let stranger = Pki::new("some other CA");
    let foreign = cluster.pki.client_tls(&stranger.node("intruder"));
    let foreign_tls = foreign.to_tonic("localhost");
    assert_refused(
        call_with_garbage(https(addr, foreign_tls)).await,
        "another CA's certificate",
    );

    let plaintext = Endpoint::from_shared(format!("http://{addr}")).unwrap();
    assert_refused(
        call_with_garbage(plaintext.connect_lazy()).await,
        "plaintext",
    );

    let still_serving = call_with_garbage(trusted()).await;
    assert_eq!(
        still_serving,
        Code::InvalidArgument,
        "bad handshakes do not stop the server"
    );
    cluster.shutdown().await;
}
