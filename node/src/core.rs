//! `Core`: one node's state — storage, barrier, seal progress — and, once unsealed, the
//! `ActiveState` (mount table, token store, policy store). The request pipeline lives in
//! `pipeline.rs`; init/unseal/seal in `unseal.rs`; rekey and generate-root in their own files.

use crate::config::ServerConfig;
use crate::error::ApiError;
use crate::policy_store::PolicyStore;
use crate::router::MountTable;
use crate::token::TokenStore;
use coffer_barrier::{Barrier, Physical};
use coffer_raft::RaftHandle;
use coffer_seal::generate_root::GenerateRootAttempt;
use coffer_seal::progress::KeyCollector;
use coffer_seal::rekey::RekeyOperation;
use parking_lot::{Mutex, RwLock};
use std::sync::Arc;

/// The product version, and the Vault API version whose shapes we answer with.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The Vault release whose HTTP API, CLI and config Coffer targets.
pub const VAULT_API_VERSION: &str = "1.16.0";

/// What exists only while the node is unsealed (and, in a cluster, active).
pub struct ActiveState {
    pub mounts: MountTable,
    pub tokens: TokenStore,
    pub policies: PolicyStore,
    /// The enabled audit devices, opened on this node.
    pub audit: crate::audit::AuditBroker,
    /// Unix seconds when this node became active.
    pub active_since: i64,
    /// The Raft term this state was loaded in as leader, after a read index (0 without Raft, and
    /// for the state loaded at unseal). A node leading in another term reloads first, so it
    /// never serves a mount table, token cache or KV version from an earlier leadership or from
    /// a state machine that has not caught up.
    pub term: u64,
}

/// Identity of the cluster, created at init and kept behind the barrier.
#[derive(Debug, Clone, Default, serde::Serialize, serde::Deserialize)]
pub struct ClusterInfo {
    pub name: String,
    pub id: String,
}

/// One node.
pub struct Core {
    pub config: ServerConfig,
    pub physical: Arc<dyn Physical>,
    pub barrier: Arc<Barrier>,
    pub raft: Option<RaftHandle>,
    /// Storage type name for seal-status (`raft`, `inmem`).
    pub storage_type: &'static str,
    /// The auto seal (`seal "awskms"`), if any; `None` is Shamir.
    pub auto_seal: Option<Arc<dyn coffer_seal::Seal>>,
    /// A seal stanza marked `disabled = "true"`: the seal being migrated away from.
    pub disabled_seal: Option<Arc<dyn coffer_seal::Seal>>,
    pub(crate) unseal_progress: Mutex<Option<KeyCollector>>,
    pub(crate) rekey: Mutex<Option<RekeyOperation>>,
    /// A rekey of the recovery key (`sys/rekey-recovery-key`, auto seal only).
    pub(crate) rekey_recovery: Mutex<Option<RekeyOperation>>,
    /// The root key held between a rekey's authorisation and its verification.
    pub(crate) rekey_root_key: Mutex<Option<coffer_barrier::RootKey>>,
    pub(crate) generate_root: Mutex<Option<GenerateRootAttempt>>,
    pub(crate) active: RwLock<Option<Arc<ActiveState>>>,
    pub(crate) cluster: RwLock<Option<ClusterInfo>>,
    /// Serialises init/unseal/seal so two callers cannot race a state change.
    pub(crate) state_lock: tokio::sync::Mutex<()>,
    /// Request and node metrics (`sys/metrics`), shared with the storage adapter.
    pub metrics: Arc<crate::metrics::Metrics>,
    /// Relays requests to the active node while this one is a standby.
    pub(crate) forwarder: crate::cluster::forward::Forwarder,
    /// Raft RPCs and forwarding, open once the node knows the cluster certificate.
    pub(crate) cluster_port: tokio::sync::Mutex<Option<crate::cluster::port::ClusterPort>>,
    /// A join challenge this node received and will answer at unseal.
    pub(crate) pending_join: Mutex<Option<crate::cluster::joining::PendingJoin>>,
    /// Join challenges this (active) node issued, by server id.
    pub(crate) join_challenges:
        Mutex<crate::cluster::challenges::ChallengeBook<crate::cluster::joining::IssuedChallenge>>,
}

impl Core {
    /// A sealed node over `physical`.
    pub fn new(
        config: ServerConfig,
        physical: Arc<dyn Physical>,
        raft: Option<RaftHandle>,
        storage_type: &'static str,
        metrics: Arc<crate::metrics::Metrics>,
        seals: crate::auto_unseal::Seals,
    ) -> Arc<Core> {
        Arc::new(Core {
            auto_seal: seals.active,
            disabled_seal: seals.disabled,
            config,
            barrier: Arc::new(Barrier::new(physical.clone())),
            physical,
            raft,
            storage_type,
            unseal_progress: Mutex::new(None),
            rekey: Mutex::new(None),
            rekey_recovery: Mutex::new(None),
            rekey_root_key: Mutex::new(None),
            generate_root: Mutex::new(None),
            active: RwLock::new(None),
            cluster: RwLock::new(None),
            state_lock: tokio::sync::Mutex::new(()),
            metrics,
            forwarder: crate::cluster::forward::Forwarder::new(None),
            cluster_port: tokio::sync::Mutex::new(None),
            pending_join: Mutex::new(None),
            join_challenges: Mutex::new(Default::default()),
        })
    }

    /// Where the cluster port listens, once it is open.
    pub fn cluster_port_addr(&self) -> Option<std::net::SocketAddr> {
        self.cluster_port
            .try_lock()
            .ok()
            .and_then(|p| p.as_ref().map(|p| p.local_addr))
    }

    /// Whether the barrier is sealed.
    pub fn is_sealed(&self) -> bool {
        self.barrier.is_sealed() || self.active.read().is_none()
    }

    /// The unsealed state, or 503 Sealed.
    pub fn active(&self) -> Result<Arc<ActiveState>, ApiError> {
        self.active.read().clone().ok_or(ApiError::Sealed)
    }

    /// The state to serve a request with: reloaded from storage (after a read index, so it holds
    /// every committed write) when this node became leader in a term it has not loaded yet.
    pub async fn current_active(self: &Arc<Self>) -> Result<Arc<ActiveState>, ApiError> {
        let state = self.active()?;
        let Some(raft) = &self.raft else {
            return Ok(state);
        };
        let term = raft.metrics().current_term;
        if state.term == term {
            return Ok(state);
        }
        let _guard = self.state_lock.lock().await;
        if let Some(state) = self.active.read().clone().filter(|s| s.term == term) {
            return Ok(state);
        }
        // Everything committed before is applied here once an entry of this term is: a read
        // index alone is not enough for a leader that resumed its term after a restart.
        raft.commit_noop()
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        raft.ensure_linearizable()
            .await
            .map_err(|e| ApiError::Unavailable(e.to_string()))?;
        // The keyring as stored now: a snapshot restored while this node was a standby may
        // have replaced it, and a term it dropped must not encrypt anything new.
        self.barrier.reset_keyring().await?;
        let fresh = Arc::new(self.load_active_state(term).await?);
        *self.active.write() = Some(fresh.clone());
        self.metrics.observe_takeover();
        tracing::info!(term, "took over as the active node");
        Ok(fresh)
    }

    /// Read the mount table, tokens and policies from the (unsealed) barrier.
    pub(crate) async fn load_active_state(&self, term: u64) -> Result<ActiveState, ApiError> {
        let mounts = crate::router::MountTable::load(self).await?;
        let mut tokens = crate::token::TokenStore::new(self.view("sys/token/"));
        if let Some(cubbyhole) = mounts.cubbyhole_storage() {
            tokens = tokens.with_cubbyhole(cubbyhole);
        }
        Ok(ActiveState {
            mounts,
            tokens,
            policies: crate::policy_store::PolicyStore::new(self.view("sys/policy/")),
            audit: crate::audit::AuditBroker::open(
                &self
                    .view("")
                    .get_json(crate::audit::AUDIT_TABLE_PATH)
                    .await?
                    .unwrap_or_default(),
            ),
            active_since: crate::clock::unix_now(),
            term,
        })
    }

    /// Whether this node is the one that serves requests (single node: whenever unsealed).
    pub fn is_active(&self) -> bool {
        !self.is_sealed() && self.raft.as_ref().is_none_or(|r| r.is_leader())
    }

    /// The Raft handle, or 400 when this node's storage is not raft.
    pub fn raft_handle(&self) -> Result<&RaftHandle, ApiError> {
        self.raft
            .as_ref()
            .ok_or_else(|| ApiError::bad("storage is not raft"))
    }

    /// Cluster name and id, known once unsealed.
    pub fn cluster_info(&self) -> Option<ClusterInfo> {
        self.cluster.read().clone()
    }

    /// Whether `core/seal-config` exists (the node has been initialised).
    pub async fn is_initialized(&self) -> Result<bool, ApiError> {
        Ok(self
            .physical
            .get(crate::unseal::SEAL_CONFIG_PATH)
            .await
            .map_err(ApiError::internal)?
            .is_some())
    }

    /// The mount a path belongs to, as a metrics label (`secret/`, `sys/`, `auth/token/`).
    pub fn mount_label(&self, path: &str) -> String {
        if let Some(rest) = path.strip_prefix("auth/") {
            let name = rest.split('/').next().unwrap_or_default();
            return format!("auth/{name}/");
        }
        if path.starts_with("sys/") {
            return "sys/".into();
        }
        let routed = self
            .active
            .read()
            .as_ref()
            .and_then(|a| a.mounts.route(crate::router::Table::Secrets, path));
        match routed {
            Some((entry, _)) => entry.path,
            None => "unknown".into(),
        }
    }

    /// Scrape-time values for `sys/metrics`.
    pub fn node_gauges(&self) -> crate::metrics::NodeGauges {
        let status = self.raft.as_ref().map(|r| r.metrics());
        crate::metrics::NodeGauges {
            sealed: self.is_sealed(),
            active: self.is_active(),
            raft_term: status.as_ref().map_or(0, |s| s.current_term),
            raft_last_log_index: status.as_ref().and_then(|s| s.last_log_index).unwrap_or(0),
            raft_committed_index: status.as_ref().and_then(|s| s.committed_index).unwrap_or(0),
            raft_applied_index: status
                .as_ref()
                .and_then(|s| s.last_applied_index)
                .unwrap_or(0),
            raft_snapshot_index: status.as_ref().and_then(|s| s.snapshot_index).unwrap_or(0),
            raft_purged_index: status.as_ref().and_then(|s| s.purged_index).unwrap_or(0),
            raft_leader_changes: self.raft.as_ref().map_or(0, |r| r.stats().leader_changes()),
        }
    }

    /// A storage view of the barrier under `prefix`.
    pub fn view(&self, prefix: &str) -> crate::storage::StorageView {
        crate::storage::StorageView::new(self.barrier.clone(), prefix)
    }
}
