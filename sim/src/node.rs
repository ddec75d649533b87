//! One simulated Coffer node: start, kill, restart, and HTTP-shaped calls into its app.

use axum::body::Body;
use coffer_node::config::{ListenerConfig, ServerConfig, StorageConfig};
use coffer_node::core::Core;
use coffer_node::StorageHandle;
use http_body_util::BodyExt;
use madsim::rand::Rng;
use madsim::runtime::{Handle, NodeHandle};
use madsim::task::NodeId;
use parking_lot::Mutex;
use serde_json::Value;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

/// The app of each running node, by node name; set by the node's init, read by calls that run on
/// that node.
fn apps() -> &'static Mutex<HashMap<String, Running>> {
    static APPS: OnceLock<Mutex<HashMap<String, Running>>> = OnceLock::new();
    APPS.get_or_init(|| Mutex::new(HashMap::new()))
}

/// What a running node exposes to the simulator.
#[derive(Clone)]
struct Running {
    app: axum::Router,
    core: Arc<Core>,
}

/// An HTTP answer: status and JSON body (`Null` when empty).
#[derive(Debug, Clone)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
}

/// Entries between snapshots in the simulation (Vault's default is 8192).
pub const SNAPSHOT_THRESHOLD: u64 = 40;
/// Entries kept behind a snapshot in the simulation (Vault's default is 10240).
pub const TRAILING_LOGS: u64 = 5;

/// A Coffer node on its own simulated host.
pub struct SimNode {
    pub name: String,
    pub raft_id: u64,
    pub ip: IpAddr,
    id: NodeId,
    /// Snapshots installed by this node's earlier incarnations (each restart starts a new
    /// Raft instance with its own counters).
    past_snapshots_installed: std::sync::atomic::AtomicU64,
}

fn snapshots_installed(core: &Core) -> u64 {
    core.storage
        .raft
        .as_ref()
        .map_or(0, |r| r.stats().snapshots_installed())
}

fn config(name: &str, raft_id: u64, ip: IpAddr, kms: Option<SocketAddr>) -> ServerConfig {
    let seal = kms.map(|addr| {
        let mut fields = serde_json::Map::new();
        fields.insert("address".into(), Value::String(addr.to_string()));
        ("simkms".to_string(), fields)
    });
    ServerConfig {
        seal,
        storage: StorageConfig::Raft {
            path: format!("/sim/{name}").into(),
            node_id: raft_id.to_string(),
            retry_join: Vec::new(),
            // Low, so every seed builds, purges and installs snapshots: a follower that was down
            // for a few hundred entries catches up by snapshot.
            snapshot_threshold: Some(SNAPSHOT_THRESHOLD),
            trailing_logs: Some(TRAILING_LOGS),
            max_entry_size: None,
        },
        listeners: vec![ListenerConfig {
            address: format!("{ip}:8200"),
            tls_disable: true,
            ..ListenerConfig::default()
        }],
        api_addr: Some(format!("http://{ip}:8200")),
        cluster_addr: Some(format!("http://{ip}:8201")),
        ..ServerConfig::default()
    }
}

impl SimNode {
    /// Create and start a node with Shamir unseal. Its engine survives `restart` and loses
    /// unsynced writes on `kill`.
    pub fn start(name: &str, raft_id: u64, ip: IpAddr) -> SimNode {
        SimNode::start_with_kms(name, raft_id, ip, None)
    }

    /// Create and start a node; with `kms`, its config has `seal "simkms"` pointing there, so it
    /// auto-unseals through that simulated KMS.
    pub fn start_with_kms(
        name: &str,
        raft_id: u64,
        ip: IpAddr,
        kms: Option<SocketAddr>,
    ) -> SimNode {
        let node_name = name.to_string();
        let handle = Handle::current()
            .create_node()
            .name(name)
            .ip(ip)
            .init(move || {
                let node_name = node_name.clone();
                async move {
                    let engine = coffer_raft::MemEngine::open(raft_id);
                    let cfg = config(&node_name, raft_id, ip, kms);
                    let server = coffer_node::start(cfg, StorageHandle::Engine(engine))
                        .await
                        .expect("a simulated node starts");
                    let running = Running {
                        app: server.app(),
                        core: server.core.clone(),
                    };
                    apps().lock().insert(node_name.clone(), running);
                    // Keep the server (and its raft tasks) alive as long as the node runs.
                    std::future::pending::<()>().await;
                    drop(server);
                }
            })
            .build();
        SimNode {
            name: name.to_string(),
            raft_id,
            ip,
            id: handle.id(),
            past_snapshots_installed: Default::default(),
        }
    }

    /// Kill the node: its tasks stop and its engine crashes with a torn tail — half the time
    /// every unsynced batch is lost, else a random suffix of them (what survives a crash is a
    /// prefix of the write order, as the `Engine` contract allows). Returns `(lost, unsynced)`.
    pub fn kill(&self) -> (usize, usize) {
        self.kill_keeping(|n| {
            let mut rng = madsim::rand::thread_rng();
            if rng.gen_bool(0.5) {
                0
            } else {
                rng.gen_range(0..=n)
            }
        })
    }

    /// Kill the node, keeping the first `keep(n)` of its `n` unsynced batches. Returns
    /// `(lost, n)`.
    pub fn kill_keeping(&self, keep: impl FnOnce(usize) -> usize) -> (usize, usize) {
        self.retire();
        let torn = coffer_raft::MemEngine::crash_keeping(self.raft_id, keep);
        Handle::current().kill(self.id);
        torn.unwrap_or((0, 0))
    }

    /// Restart the node from its engine (a kill first, which crashes the engine as
    /// [`SimNode::kill`] does). Returns what the kill lost, `(lost, unsynced)`.
    ///
    /// madsim's `restart` alone keeps the old incarnation's sockets bound (a killed node's
    /// socket guards do not release them; only `kill` resets the node's network), so the new
    /// incarnation could not bind its listener or cluster port: kill first, always.
    pub fn restart(&self) -> (usize, usize) {
        let torn = self.kill();
        Handle::current().restart(self.id);
        torn
    }

    /// Kill the node for good and wipe its disk (a node removed from the cluster).
    pub fn wipe(&self) {
        self.kill();
        coffer_raft::MemEngine::remove(self.raft_id);
    }

    /// Make every sync of this node's disk take `latency` (simulated).
    pub fn set_sync_latency(&self, latency: std::time::Duration) {
        coffer_raft::MemEngine::set_sync_latency(self.raft_id, latency);
    }

    /// This node's Raft status (role, term, log, commit and apply indexes, voters, snapshot),
    /// readable, or `None` when it is down.
    pub fn raft_status(&self) -> Option<String> {
        let core = apps().lock().get(&self.name).map(|r| r.core.clone())?;
        let raft = core.storage.raft.as_ref()?;
        Some(format!("{:?}", raft.metrics()))
    }

    /// The Raft members (voters and learners) this node knows of, or `None` when it is down.
    pub fn raft_members(&self) -> Option<Vec<u64>> {
        let core = apps().lock().get(&self.name).map(|r| r.core.clone())?;
        let raft = core.storage.raft.as_ref()?;
        Some(raft.membership().into_iter().map(|m| m.node_id).collect())
    }

    /// Forget the running incarnation, keeping its counters.
    fn retire(&self) {
        if let Some(old) = apps().lock().remove(&self.name) {
            let installed = snapshots_installed(&old.core);
            self.past_snapshots_installed
                .fetch_add(installed, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// Snapshots this node installed from a leader, over all its incarnations.
    pub fn snapshots_installed(&self) -> u64 {
        let now = apps()
            .lock()
            .get(&self.name)
            .map_or(0, |r| snapshots_installed(&r.core));
        now + self
            .past_snapshots_installed
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Wait until the node's app is up.
    pub async fn wait_ready(&self) {
        loop {
            if apps().lock().contains_key(&self.name) {
                return;
            }
            madsim::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }

    /// Send one API call to the node, executed on the node itself.
    pub async fn call(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let name = self.name.clone();
        let method = method.to_string();
        let path = path.to_string();
        let token = token.map(str::to_string);
        // A restart gives the node a new task spawner: look it up for every call.
        let node: NodeHandle = Handle::current()
            .get_node(self.id)
            .expect("the node exists");
        node.spawn(async move {
            let app = apps().lock().get(&name).map(|r| r.app.clone());
            let Some(app) = app else {
                return Reply {
                    status: 0,
                    body: Value::Null,
                };
            };
            let mut req = http::Request::builder()
                .method(method.as_str())
                .uri(format!("/v1/{path}"));
            if let Some(t) = token {
                req = req.header("X-Vault-Token", t);
            }
            let bytes = body
                .map(|b| serde_json::to_vec(&b).unwrap_or_default())
                .unwrap_or_default();
            let req = req.body(Body::from(bytes)).expect("a well-formed request");
            let resp = app.oneshot(req).await.expect("the app is infallible");
            let status = resp.status().as_u16();
            let collected = resp
                .into_body()
                .collect()
                .await
                .map(|c| c.to_bytes())
                .unwrap_or_default();
            let body = serde_json::from_slice(&collected).unwrap_or(Value::Null);
            Reply { status, body }
        })
        .await
        .unwrap_or(Reply {
            status: 0,
            body: Value::Null,
        })
    }
}

impl SimNode {
    /// Add `other` to this node's Raft cluster as a voter (run on this node, which must lead).
    pub async fn add_voter(&self, other: &SimNode) -> Result<(), String> {
        let core = apps().lock().get(&self.name).map(|r| r.core.clone());
        let core = core.ok_or("the node is not running")?;
        let member = coffer_raft::ClusterNode {
            api_addr: format!("http://{}:8200", other.ip),
            cluster_addr: format!("http://{}:8201", other.ip),
        };
        let id = other.raft_id;
        let node: NodeHandle = Handle::current().get_node(self.id).ok_or("no such node")?;
        node.spawn(async move {
            let raft = core.storage.raft.as_ref().ok_or("no raft")?;
            raft.add_voter(id, member, std::time::Duration::from_secs(20))
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Whether this node is the active one (unsealed Raft leader).
    pub fn is_active(&self) -> bool {
        apps()
            .lock()
            .get(&self.name)
            .is_some_and(|r| r.core.is_active())
    }
}

impl SimNode {
    /// Cut this node off the network (both directions) until `unclog`.
    pub fn clog(&self) {
        madsim::net::NetSim::current().clog_node(self.id);
    }

    /// Reconnect a clogged node.
    pub fn unclog(&self) {
        madsim::net::NetSim::current().unclog_node(self.id);
    }
}

impl SimNode {
    /// Wait (simulated time, at most 30 s) until the node has applied the replicated seal
    /// records, i.e. `sys/seal-status` says initialized. A voter just added may still be behind.
    pub async fn wait_initialized(&self) -> bool {
        let deadline = tokio::time::Instant::now() + std::time::Duration::from_secs(30);
        while tokio::time::Instant::now() < deadline {
            let status = self.call("GET", "sys/seal-status", None, None).await;
            if status.body["initialized"] == true {
                return true;
            }
            tokio::time::sleep(std::time::Duration::from_millis(50)).await;
        }
        false
    }

    /// `sys/init` with `shares`/`threshold`; returns the unseal keys and the root token.
    /// Panics with the node's answer when it refuses (a test helper).
    pub async fn init(&self, shares: u8, threshold: u8) -> (Vec<String>, String) {
        let body = serde_json::json!({ "secret_shares": shares, "secret_threshold": threshold });
        let init = self.call("PUT", "sys/init", None, Some(body)).await;
        assert_eq!(init.status, 200, "init refused: {:?}", init.body);
        let keys = serde_json::from_value(init.body["keys"].clone()).expect("init returns keys");
        let root = init.body["root_token"]
            .as_str()
            .expect("init returns a root token");
        (keys, root.to_string())
    }

    /// Start nodes `name_prefix-1..=count` with Raft ids `id_base + i` on `10.0.{subnet}.i`, and
    /// wait until every one is up.
    pub async fn start_many(
        name_prefix: &str,
        count: u64,
        id_base: u64,
        subnet: u8,
    ) -> Vec<SimNode> {
        SimNode::start_many_with_kms(name_prefix, count, id_base, subnet, None).await
    }

    /// Three Shamir-sealed nodes formed as an operator would: the first initialised with one
    /// key share and unsealed, the others joined as voters and caught up, and unsealed too
    /// when `unseal_all`. Returns the nodes, the unseal keys and the root token.
    pub async fn form_three(unseal_all: bool) -> (Vec<SimNode>, Vec<String>, String) {
        let nodes = SimNode::start_many("coffer", 3, 100, 1).await;
        let (keys, root) = nodes[0].init(1, 1).await;
        assert_eq!(nodes[0].unseal(&keys).await.body["sealed"], false);
        for other in &nodes[1..] {
            nodes[0].add_voter(other).await.expect("a voter joins");
            assert!(
                other.wait_initialized().await,
                "{} never caught up",
                other.name
            );
            if unseal_all {
                assert_eq!(other.unseal(&keys).await.body["sealed"], false);
            }
        }
        (nodes, keys, root)
    }

    /// [`SimNode::start_many`], each node auto-unsealing through the KMS at `kms` if given.
    pub async fn start_many_with_kms(
        name_prefix: &str,
        count: u64,
        id_base: u64,
        subnet: u8,
        kms: Option<SocketAddr>,
    ) -> Vec<SimNode> {
        let nodes: Vec<SimNode> = (1..=count)
            .map(|i| {
                let ip = IpAddr::from([10, 0, subnet, i as u8]);
                SimNode::start_with_kms(&format!("{name_prefix}-{i}"), id_base + i, ip, kms)
            })
            .collect();
        for n in &nodes {
            n.wait_ready().await;
        }
        nodes
    }

    /// `sys/init` of a node with an auto seal: `shares`/`threshold` recovery keys; returns the
    /// root token once the node has unsealed itself.
    pub async fn init_auto(&self, shares: u8, threshold: u8) -> String {
        let body =
            serde_json::json!({ "recovery_shares": shares, "recovery_threshold": threshold });
        let init = self.call("PUT", "sys/init", None, Some(body)).await;
        assert_eq!(init.status, 200, "init refused: {:?}", init.body);
        assert_eq!(init.body["keys"], serde_json::json!([]), "no unseal keys");
        let root = init.body["root_token"]
            .as_str()
            .expect("init returns a root token");
        assert!(
            eventually(std::time::Duration::from_secs(30), || self.is_unsealed()).await,
            "{} did not unseal itself after init",
            self.name
        );
        root.to_string()
    }

    /// Submit unseal keys one by one; the answer to the last one.
    pub async fn unseal(&self, keys: &[String]) -> Reply {
        let mut last = Reply {
            status: 0,
            body: Value::Null,
        };
        for k in keys {
            last = self
                .call(
                    "PUT",
                    "sys/unseal",
                    None,
                    Some(serde_json::json!({ "key": k })),
                )
                .await;
        }
        last
    }
}

/// Poll `check` every 50 ms of simulated time until it holds or `within` has passed.
pub async fn eventually(within: std::time::Duration, mut check: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + within;
    while tokio::time::Instant::now() < deadline {
        if check() {
            return true;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    check()
}

impl SimNode {
    /// This node's replicated data as it holds it locally (storage path → stored bytes, which are
    /// ciphertext), or `None` when the node is down.
    pub async fn local_data(&self) -> Option<std::collections::BTreeMap<String, Vec<u8>>> {
        let core = apps().lock().get(&self.name).map(|r| r.core.clone())?;
        let raft = core.storage.raft.clone()?;
        let pairs = raft.export_data().await.ok()?;
        Some(pairs.into_iter().collect())
    }

    /// Whether `needle` occurs anywhere in this node's engine (log, metadata and data, keys
    /// and values, as stored), whether the node runs or not.
    pub fn engine_contains(&self, needle: &[u8]) -> bool {
        use coffer_raft::{Engine, Space};
        let engine = coffer_raft::MemEngine::open(self.raft_id);
        [Space::Log, Space::Meta, Space::Data]
            .into_iter()
            .any(|space| {
                let pairs = engine.scan(space, b"", None).unwrap_or_default();
                pairs.iter().any(|(k, v)| {
                    [k, v]
                        .into_iter()
                        .any(|bytes| bytes.windows(needle.len()).any(|w| w == needle))
                })
            })
    }

    /// The address of the node's API listener.
    pub fn api_addr(&self) -> String {
        format!("{}:8200", self.ip)
    }

    /// The madsim node id, for link-level faults.
    pub fn sim_id(&self) -> NodeId {
        self.id
    }

    /// Whether the node is up and unsealed.
    pub fn is_unsealed(&self) -> bool {
        apps()
            .lock()
            .get(&self.name)
            .is_some_and(|r| !r.core.is_sealed())
    }

    /// Whether the node's app is up.
    pub fn is_running(&self) -> bool {
        apps().lock().contains_key(&self.name)
    }
}
