//! `start(config)`: what `main` calls and what a simulated node's init calls. Builds storage,
//! Raft, the core and the listeners; `-dev` initialises and unseals too.

use crate::config::{ServerConfig, StorageConfig};
use crate::core::Core;
use crate::error::ApiError;
use crate::physical::RaftPhysical;
use coffer_barrier::{MemPhysical, Physical};
use coffer_raft::{Engine, RaftConfig, RaftHandle};
use std::sync::Arc;

/// Why a node could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("storage: {0}")]
    Storage(String),
    #[error(transparent)]
    Listener(#[from] crate::http::listener::ListenerError),
    #[error("{0}")]
    Seal(String),
    #[cfg(not(madsim))]
    #[error(transparent)]
    ServiceRegistration(#[from] crate::service_registration::in_cluster::InClusterError),
    #[error("dev setup: {0}")]
    Dev(#[from] ApiError),
}

/// A running node. Dropping it stops the listeners and the cluster port.
pub struct ServerHandle {
    pub core: Arc<Core>,
    pub listeners: Vec<crate::http::listener::Listener>,
}

impl Drop for ServerHandle {
    fn drop(&mut self) {
        // The port's task holds the core (through the app): end it here, not when the core goes.
        if let Ok(mut port) = self.core.link.port.try_lock() {
            port.take();
        }
    }
}

impl ServerHandle {
    /// The axum app of this node (what listeners serve; the simulator calls it directly).
    pub fn app(&self) -> axum::Router {
        crate::http::app(self.core.clone())
    }

    /// Stop the node gracefully: an active node first drains and hands leadership to another
    /// voter (`cluster::handoff`); then the listeners stop accepting and every connection
    /// finishes the request it serves; then, once the requests in flight are answered (at most
    /// [`FINISH_WAIT`]), Raft stops. The storage is synced first: a node stopped this way
    /// restarts with everything it had applied (the seal records above all, which a sealed
    /// node cannot catch up on before it unseals). Last, the cluster port closes gracefully
    /// (`link::port`), at most [`PORT_CLOSE_WAIT`].
    pub async fn shutdown(self) {
        match crate::cluster::handoff::hand_over(&self.core).await {
            crate::cluster::handoff::Outcome::Skipped => {}
            crate::cluster::handoff::Outcome::HandedTo(leader) => {
                tracing::info!(leader, "handed leadership over before stopping");
            }
            crate::cluster::handoff::Outcome::GaveUp(reason) => {
                tracing::warn!(%reason, "could not hand leadership over before stopping");
            }
        }
        for listener in &self.listeners {
            listener.close();
        }
        if !self.core.link.drain.wait_idle(FINISH_WAIT).await {
            tracing::warn!("requests still running at shutdown");
        }
        if let Some(raft) = &self.core.storage.raft {
            if let Err(e) = raft.sync().await {
                tracing::warn!(error = %e, "raft storage sync at shutdown");
            }
            if let Err(e) = raft.shutdown().await {
                tracing::warn!(error = %e, "raft shutdown");
            }
        }
        // Last, so a standby that still takes this node for the active one gets an answer
        // ("not active": it sends the request on) rather than a cut connection.
        let port = self.core.link.port.lock().await.take();
        if let Some(port) = port {
            if !port.close(PORT_CLOSE_WAIT).await {
                tracing::warn!("cluster port calls still open at shutdown");
            }
        }
    }
}

/// How long a stopping node's cluster port waits, after its GOAWAY, for the calls it took.
const PORT_CLOSE_WAIT: std::time::Duration = std::time::Duration::from_secs(2);

/// How long a stopping node waits for the requests it is still answering (held ones relayed
/// to the new active node, and the last ones on open connections).
const FINISH_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Where the node's bytes live.
#[derive(Clone)]
pub enum StorageHandle {
    /// An engine chosen by the caller (the simulator's in-memory engine with crash semantics).
    Engine(Arc<dyn Engine>),
    /// Whatever the config says (RocksDB for raft, a map for inmem).
    FromConfig,
}

fn raft_node_id(node_id: &str) -> u64 {
    // Raft wants a number; Vault node ids are strings. A stable hash keeps them unique enough
    // for a single node; the cluster issue assigns ids at join time.
    node_id.parse().unwrap_or_else(|_| {
        node_id.bytes().fold(1469598103934665603u64, |h, b| {
            (h ^ b as u64).wrapping_mul(1099511628211)
        }) % (1 << 53)
    })
}

fn open_engine(
    config: &ServerConfig,
    storage: &StorageHandle,
) -> Result<Arc<dyn Engine>, StartError> {
    if let StorageHandle::Engine(engine) = storage {
        return Ok(engine.clone());
    }
    match &config.storage {
        #[cfg(not(madsim))]
        StorageConfig::Raft { path, .. } => {
            std::fs::create_dir_all(path)
                .map_err(|e| StartError::Storage(format!("{}: {e}", path.display())))?;
            let engine = coffer_raft::RocksEngine::open(path)
                .map_err(|e| StartError::Storage(e.to_string()))?;
            Ok(Arc::new(engine))
        }
        _ => Err(StartError::Storage(
            "no engine for this storage type in this build".into(),
        )),
    }
}

async fn open_storage(
    config: &ServerConfig,
    storage: &StorageHandle,
    metrics: &Arc<crate::metrics::Metrics>,
) -> Result<(Arc<dyn Physical>, Option<RaftHandle>, &'static str), StartError> {
    if config.storage == StorageConfig::Inmem && matches!(storage, StorageHandle::FromConfig) {
        return Ok((Arc::new(MemPhysical::new()), None, "inmem"));
    }
    let mut raft_config = RaftConfig {
        api_addr: config.api_addr.clone().unwrap_or_default(),
        cluster_addr: config.advertised_cluster_addr(),
        ..RaftConfig::default()
    };
    if let StorageConfig::Raft {
        node_id,
        snapshot_threshold,
        trailing_logs,
        ..
    } = &config.storage
    {
        raft_config.node_id = raft_node_id(node_id);
        raft_config.snapshot_threshold =
            snapshot_threshold.unwrap_or(raft_config.snapshot_threshold);
        raft_config.trailing_logs = trailing_logs.unwrap_or(raft_config.trailing_logs);
    }
    let engine = open_engine(config, storage)?;
    // The node is not bootstrapped here: `sys/init` bootstraps a new cluster, a join adds the node
    // to an existing one, and a restarted member finds its membership in its own log.
    let raft = RaftHandle::start_cluster(raft_config, engine, None)
        .await
        .map_err(|e| StartError::Storage(e.to_string()))?;
    let observed = metrics.clone();
    raft.stats()
        .observe_apply(Box::new(move |took, _| observed.observe_apply(took)));
    let physical = RaftPhysical::new(raft.clone(), metrics.clone())
        .with_max_entry_size(config.max_entry_size());
    Ok((Arc::new(physical), Some(raft), "raft"))
}

/// Start a node: storage, core and listeners. The node starts sealed (or uninitialised).
pub async fn start(
    config: ServerConfig,
    storage: StorageHandle,
) -> Result<ServerHandle, StartError> {
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let (physical, raft, storage_type) = open_storage(&config, &storage, &metrics).await?;
    let seals = crate::auto_unseal::from_config(config.seal.as_ref(), config.other_seal.as_ref())
        .map_err(|e| StartError::Seal(e.to_string()))?;
    let storage = crate::core::NodeStorage::new(physical, raft, storage_type, metrics, seals);
    let core = Core::new(config, storage);
    if core.storage.auto_seal.is_some() {
        tokio::spawn(crate::auto_unseal::unseal_loop(core.clone()));
    }
    let app = crate::http::app(core.clone());
    core.link.set_app(app.clone());
    // Outside simulation the cluster port opens with the cluster certificate, at unseal or
    // join (`Core::enable_cluster_tls`); the simulated network has no TLS, so it opens now.
    #[cfg(madsim)]
    if let (Some(raft), Some(addr)) = (&core.storage.raft, core.config.cluster_bind_addr()) {
        let port = crate::link::port::start(&addr, raft, app.clone(), None)
            .await
            .map_err(|e| StartError::Storage(e.to_string()))?;
        *core.link.port.lock().await = Some(port);
    }
    if core.storage.raft.is_some() {
        tokio::spawn(crate::cluster::autopilot::cleanup_loop(core.clone()));
        tokio::spawn(crate::cluster::sealed_leader::hand_over_loop(core.clone()));
        tokio::spawn(crate::cluster::takeover::take_over_loop(core.clone()));
    }
    // The database engine's static role rotations (not simulated: no database client there).
    #[cfg(not(madsim))]
    tokio::spawn(crate::static_rotation::rotation_loop(core.clone()));
    // Labels this node's pod with its state (not simulated: there is no Kubernetes API there).
    #[cfg(not(madsim))]
    crate::service_registration::start(core.clone())?;
    if let StorageConfig::Raft { retry_join, .. } = &core.config.storage {
        if !retry_join.is_empty() {
            let leaders = retry_join.clone();
            tokio::spawn(crate::cluster::joining::retry_join(core.clone(), leaders));
        }
    }
    let mut listeners = Vec::new();
    for l in &core.config.listeners {
        let started = crate::http::listener::start(l, app.clone()).await?;
        tracing::info!(address = %started.local_addr, tls = started.tls, "listening");
        listeners.push(started);
    }
    Ok(ServerHandle { core, listeners })
}

/// What `-dev` prints.
pub struct DevInfo {
    pub unseal_key: String,
    pub root_token: String,
}

/// `-dev`: initialise with one key share, unseal, mount KV v2 at `secret/`, and optionally give
/// the root token a chosen id.
pub async fn dev_setup(core: &Arc<Core>, root_token_id: Option<&str>) -> Result<DevInfo, ApiError> {
    let init = core
        .initialize(crate::unseal::InitRequest {
            secret_shares: 1,
            secret_threshold: 1,
            recovery_shares: 1,
            recovery_threshold: 1,
        })
        .await?;
    let unseal_key = base64_std(&init.keys[0]);
    core.submit_unseal_key(&unseal_key).await?;
    let active = core.active()?;
    let mut options = std::collections::BTreeMap::new();
    options.insert("version".to_string(), "2".to_string());
    active
        .mounts
        .enable(
            crate::router::Table::Secrets,
            "secret/",
            "kv",
            "key/value secret storage",
            Default::default(),
            options,
        )
        .await?;
    let mut root_token = init.root_token;
    if let Some(id) = root_token_id {
        let mut entry = active
            .tokens
            .lookup(&root_token)
            .await?
            .ok_or_else(|| ApiError::internal("root token vanished"))?;
        active.tokens.revoke(&root_token).await?;
        entry.id = id.to_string();
        active.tokens.store(&entry).await?;
        root_token = id.to_string();
    }
    Ok(DevInfo {
        unseal_key,
        root_token,
    })
}

fn base64_std(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// `-dev-three-node`: three nodes in this process on loopback (API ports `base`, `base+10`,
/// `base+20`; cluster ports one above each), in-memory engines, one Raft cluster, all unsealed,
/// KV v2 at `secret/`. Node 1 starts active.
pub async fn dev_three_node(
    base_port: u16,
    root_token_id: Option<&str>,
) -> Result<(Vec<ServerHandle>, DevInfo), StartError> {
    let mut nodes = Vec::new();
    for i in 0..3u16 {
        let port = base_port + 10 * i;
        let config = ServerConfig {
            storage: StorageConfig::Raft {
                path: std::path::PathBuf::from(format!("dev-node-{}", i + 1)),
                node_id: (i + 1).to_string(),
                retry_join: Vec::new(),
                snapshot_threshold: None,
                trailing_logs: None,
                max_entry_size: None,
            },
            listeners: vec![crate::config::ListenerConfig {
                address: format!("127.0.0.1:{port}"),
                cluster_address: Some(format!("127.0.0.1:{}", port + 1)),
                tls_disable: true,
                ..Default::default()
            }],
            api_addr: Some(format!("http://127.0.0.1:{port}")),
            cluster_addr: Some(format!("http://127.0.0.1:{}", port + 1)),
            ..ServerConfig::default()
        };
        let engine = coffer_raft::MemEngine::open(u64::from(i) + 1);
        nodes.push(start(config, StorageHandle::Engine(engine)).await?);
    }
    let info = dev_setup(&nodes[0].core, root_token_id).await?;
    let leader_api_addr = nodes[0].core.config.api_addr.clone().unwrap_or_default();
    // The others join the way an operator's nodes do: challenge, then unseal with the key.
    for node in nodes.iter().skip(1) {
        node.core
            .request_join(&leader_api_addr, None, false)
            .await?;
        node.core.submit_unseal_key(&info.unseal_key).await?;
        if node.core.is_sealed() {
            return Err(ApiError::internal("a dev node did not unseal after joining").into());
        }
    }
    Ok((nodes, info))
}
