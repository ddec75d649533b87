//! Initialise, unseal and seal a node (Shamir). The key story:
//! unseal key (Shamir shares) → wraps the root key (`core/root-key`, plain ciphertext) → the root
//! key opens the keyring (`core/keyring`, inside the barrier) → the keyring's terms encrypt
//! everything else. `core/seal-config` is the only other plain record.

use crate::core::{ClusterInfo, Core, VAULT_API_VERSION};
use crate::error::ApiError;
use crate::link::tls::{self as cluster_tls, ClusterTls};
use coffer_barrier::RootKey;
use coffer_seal::config::SealConfig;
use coffer_seal::progress::{decode_key, KeyCollector};
use coffer_seal::{Seal, ShamirSeal};
use serde_json::{json, Value};
use std::sync::Arc;
use zeroize::Zeroizing;

/// Barrier record: cluster name and id.
const CLUSTER_INFO_PATH: &str = "core/cluster-info";

/// What `sys/init` hands back exactly once.
pub struct InitResult {
    /// Unseal key shares (none with an auto seal).
    pub keys: Vec<Zeroizing<Vec<u8>>>,
    /// Recovery key shares (only with an auto seal).
    pub recovery_keys: Vec<Zeroizing<Vec<u8>>>,
    pub root_token: String,
}

/// Parameters of `sys/init`.
pub struct InitRequest {
    pub secret_shares: u8,
    pub secret_threshold: u8,
    /// With an auto seal: how many recovery shares, and how many authorise.
    pub recovery_shares: u8,
    pub recovery_threshold: u8,
}

/// A key share, or a whole key; zeroized on drop.
type Secret = Zeroizing<Vec<u8>>;

/// Split a new random key into `n` shares with threshold `t`, checking they rebuild it.
fn new_shares(n: u8, t: u8) -> Result<(Secret, Vec<Secret>), ApiError> {
    let key = coffer_seal::rng::random_key();
    let shares =
        coffer_seal::shamir::split(&key[..], n, t).map_err(|e| ApiError::bad(e.to_string()))?;
    // Rebuild the key from the shares exactly as an unseal will, so init can never hand out
    // shares that do not open what they protect.
    let mut collector = KeyCollector::new(t);
    let mut rebuilt = None;
    for share in shares.iter().take(t as usize) {
        rebuilt = collector.add(share.to_vec()).map_err(ApiError::internal)?;
    }
    let rebuilt = rebuilt.ok_or_else(|| ApiError::internal("shares did not rebuild the key"))?;
    if rebuilt[..] != key[..] {
        return Err(ApiError::internal("shares did not rebuild the key"));
    }
    Ok((Zeroizing::new(key.to_vec()), shares))
}

fn shamir_config(shares: u8, threshold: u8) -> SealConfig {
    SealConfig {
        type_: "shamir".into(),
        secret_shares: shares,
        secret_threshold: threshold,
        stored_shares: 0,
        pgp_keys: Vec::new(),
        nonce: String::new(),
        backup: false,
    }
}

impl Core {
    /// `sys/init`: create the root key, keyring, unseal shares and root token. Leaves the node sealed.
    pub async fn initialize(self: &Arc<Self>, req: InitRequest) -> Result<InitResult, ApiError> {
        let _guard = self.active.transition.lock().await;
        if self.is_initialized().await? {
            return Err(ApiError::bad("Vault is already initialized"));
        }
        if let Some(raft) = &self.storage.raft {
            // A new cluster of one; others join it later.
            raft.bootstrap_single().await.map_err(ApiError::internal)?;
            raft.wait_leader(std::time::Duration::from_secs(30))
                .await
                .map_err(ApiError::internal)?;
        }
        let root_key = RootKey::generate();
        let (wrapped, keys, recovery, config) = match self.storage.auto_seal.clone() {
            None => {
                let (kek, shares) = new_shares(req.secret_shares, req.secret_threshold)?;
                let seal = ShamirSeal::new(&kek).map_err(ApiError::internal)?;
                let wrapped = seal
                    .wrap(root_key.as_bytes())
                    .await
                    .map_err(ApiError::internal)?;
                let config = shamir_config(req.secret_shares, req.secret_threshold);
                (wrapped, shares, None, config)
            }
            Some(seal) => {
                let wrapped = seal
                    .wrap(root_key.as_bytes())
                    .await
                    .map_err(|e| ApiError::Unavailable(format!("cannot wrap the root key: {e}")))?;
                let recovery = new_shares(req.recovery_shares, req.recovery_threshold)?;
                let mut config = shamir_config(1, 1);
                config.type_ = seal.seal_type().to_string();
                config.stored_shares = 1;
                (wrapped, Vec::new(), Some(recovery), config)
            }
        };

        self.storage
            .barrier
            .initialize(&root_key, crate::clock::unix_now())
            .await?;
        self.records().put_wrapped_root_key(wrapped).await?;
        self.storage.barrier.unseal(&root_key).await?;
        let root_token = async {
            if let Some((recovery_key, _)) = &recovery {
                self.view("")
                    .put(crate::records::RECOVERY_KEY_PATH, recovery_key)
                    .await?;
            }
            self.setup_new_cluster().await
        }
        .await;
        self.storage.barrier.seal();
        let root_token = root_token?;
        let recovery_keys = match recovery {
            None => Vec::new(),
            Some((_, shares)) => {
                let rc = shamir_config(req.recovery_shares, req.recovery_threshold);
                self.records().put_recovery_config(&rc).await?;
                shares
            }
        };

        // Written last: a node is "initialized" only once everything above exists.
        self.records().put_seal_config(&config).await?;
        tracing::info!(seal = %config.type_, "initialized");
        if self.storage.auto_seal.is_some() {
            // An auto-sealed node unseals itself right away, as it will at every start.
            self.storage.barrier.unseal(&root_key).await?;
            self.post_unseal().await?;
        }
        Ok(InitResult {
            keys,
            recovery_keys,
            root_token,
        })
    }

    /// First-time setup inside the freshly unsealed barrier: cluster identity, default mounts and
    /// policies, the root token.
    async fn setup_new_cluster(self: &Arc<Self>) -> Result<String, ApiError> {
        let info = ClusterInfo {
            name: self
                .config
                .cluster_name
                .clone()
                .unwrap_or_else(|| format!("vault-cluster-{}", &crate::ids::uuid()[..8])),
            id: crate::ids::uuid(),
        };
        self.view("").put_json(CLUSTER_INFO_PATH, &info).await?;
        if self.storage.raft.is_some() {
            let tls = ClusterTls::generate(&info.name).map_err(ApiError::internal)?;
            self.view("")
                .put_json(cluster_tls::STORAGE_PATH, &tls)
                .await?;
        }
        crate::router::MountTable::create_defaults(&self.view("")).await?;
        crate::policy_store::PolicyStore::new(self.view("sys/policy/"))
            .create_defaults()
            .await?;
        let tokens = crate::token::TokenStore::new(self.view("sys/token/"));
        tokens.create_root_token().await
    }

    /// The seal configuration, if initialised.
    pub async fn seal_config(&self) -> Result<Option<SealConfig>, ApiError> {
        self.records().seal_config().await
    }

    /// `sys/unseal` with one key share. Returns the seal status afterwards.
    pub async fn submit_unseal_key(self: &Arc<Self>, key: &str) -> Result<Value, ApiError> {
        let _guard = self.active.transition.lock().await;
        let joining = self
            .link
            .pending_join
            .lock()
            .as_ref()
            .map(|p| p.bundle.seal_config.clone());
        let config = match (self.seal_config().await?, joining) {
            (Some(config), _) => config,
            (None, Some(config)) => config,
            (None, None) => return Err(ApiError::bad("Vault is not initialized")),
        };
        if !self.is_sealed() {
            drop(_guard);
            return self.seal_status().await;
        }
        let part = decode_key(key).map_err(|e| ApiError::bad(e.to_string()))?;
        let combined = {
            let mut progress = self.keys.unseal_progress.lock();
            let collector =
                progress.get_or_insert_with(|| KeyCollector::new(config.secret_threshold));
            match collector.add(part) {
                // Vault ignores a share it already has.
                Err(coffer_seal::SealError::Duplicate) => None,
                Ok(None) => None,
                other => {
                    *progress = None; // complete or failed: the next key starts a new attempt
                    other.map_err(|e| ApiError::bad(e.to_string()))?
                }
            }
        };
        if let Some(kek) = combined {
            let joining = !self.is_initialized().await?;
            let result = if joining {
                self.complete_join(&kek).await
            } else {
                self.unseal_with_kek(&kek).await
            };
            result.map_err(|e| match e {
                ApiError::Internal(m) => ApiError::BadRequest(format!("Error unsealing: {m}")),
                other => other,
            })?;
        }
        drop(_guard);
        self.seal_status().await
    }

    /// Forget a partial unseal attempt (`sys/unseal` with `reset: true`).
    pub fn reset_unseal(&self) {
        *self.keys.unseal_progress.lock() = None;
    }

    /// Unwrap the root key with the combined unseal key, open the barrier, load state.
    pub(crate) async fn unseal_with_kek(self: &Arc<Self>, kek: &[u8]) -> Result<(), ApiError> {
        let root = self.unwrap_root_key(kek).await?;
        self.storage
            .barrier
            .unseal(&root)
            .await
            .map_err(|e| match e {
                coffer_barrier::BarrierError::InvalidKey => ApiError::bad("invalid key"),
                other => ApiError::internal(other),
            })?;
        self.post_unseal().await
    }

    /// The root key, if `kek` is the right unseal key.
    pub(crate) async fn unwrap_root_key(&self, kek: &[u8]) -> Result<RootKey, ApiError> {
        let wrapped = self.records().wrapped_root_key().await?;
        let seal = ShamirSeal::new(kek).map_err(|_| ApiError::bad("invalid key"))?;
        let bytes = seal
            .unwrap(&wrapped)
            .await
            .map_err(|_| ApiError::bad("invalid key"))?;
        RootKey::from_bytes(&bytes).map_err(ApiError::internal)
    }

    /// Load the mount table, tokens and policies; the node can serve from here on.
    pub(crate) async fn post_unseal(self: &Arc<Self>) -> Result<(), ApiError> {
        let loaded = async {
            let info: ClusterInfo = self
                .view("")
                .get_json(CLUSTER_INFO_PATH)
                .await?
                .unwrap_or_default();
            if let Some(tls) = self
                .view("")
                .get_json::<ClusterTls>(cluster_tls::STORAGE_PATH)
                .await?
            {
                self.enable_cluster_tls(&tls).await?;
            }
            // Term 0 is no term: with Raft, the first request this node serves as leader reloads
            // the state after a read index (`Core::current_active`). A node unsealed while it
            // already leads may not have applied everything committed (a restarted node re-applies
            // its log lazily), so this state must never serve a request.
            let state = self.load_active_state(0).await?;
            Ok::<_, ApiError>((info, state))
        }
        .await;
        match loaded {
            Ok((info, state)) => {
                *self.cluster.write() = Some(info);
                let state = Arc::new(state);
                self.active.set(Some(state.clone()));
                self.start_lease_expiry(&state);
                tracing::info!("unsealed");
                Ok(())
            }
            Err(e) => {
                self.storage.barrier.seal();
                Err(e)
            }
        }
    }

    /// Seal the node: drop the active state and forget every key. A sealed leader hands Raft
    /// leadership to a standby (best effort), so the cluster keeps an active node.
    pub async fn seal(&self) {
        let _guard = self.active.transition.lock().await;
        if let Some(raft) = self.storage.raft.as_ref().filter(|r| r.is_leader()) {
            if let Err(e) = raft.step_down().await {
                tracing::info!(error = %e, "sealed leader could not hand over leadership");
            }
        }
        self.active.set(None);
        *self.keys.unseal_progress.lock() = None;
        *self.keys.rekey.lock() = None;
        *self.keys.rekey_root_key.lock() = None;
        *self.keys.rekey_recovery.lock() = None;
        *self.keys.generate_root.lock() = None;
        *self.keys.pending_migration.lock() = None;
        self.storage.barrier.seal();
        tracing::info!("sealed");
    }

    /// Body of `sys/seal-status` (and of `sys/unseal`'s answer).
    pub async fn seal_status(&self) -> Result<Value, ApiError> {
        // A node with a pending join already knows the cluster's seal configuration.
        let joining = self
            .link
            .pending_join
            .lock()
            .as_ref()
            .map(|p| p.bundle.seal_config.clone());
        let config = self.seal_config().await?.or(joining);
        // With an auto seal, t and n are the recovery key's (as Vault reports them).
        let recovery: Option<SealConfig> = match &self.storage.auto_seal {
            None => None,
            Some(_) => self.records().recovery_config().await.ok().flatten(),
        };
        let (t, n) = recovery
            .as_ref()
            .or(config.as_ref())
            .map(|c| (c.secret_threshold, c.secret_shares))
            .unwrap_or((0, 0));
        let seal_type = self
            .storage
            .auto_seal
            .as_ref()
            .map_or("shamir", |s| s.seal_type());
        let (progress, nonce) = match &*self.keys.unseal_progress.lock() {
            Some(c) => (c.progress(), c.nonce().to_string()),
            None => (0, String::new()),
        };
        let sealed = self.is_sealed();
        let mut body = json!({
            "type": seal_type,
            "initialized": config.is_some(),
            "sealed": sealed,
            "t": t,
            "n": n,
            "progress": progress,
            "nonce": nonce,
            "version": VAULT_API_VERSION,
            "build_date": "2024-01-01T00:00:00Z",
            "migration": self.migration().await?.is_some(),
            "recovery_seal": self.storage.auto_seal.is_some(),
            "storage_type": self.storage.storage_type,
        });
        if let (false, Some(info)) = (sealed, self.cluster_info()) {
            body["cluster_name"] = json!(info.name);
            body["cluster_id"] = json!(info.id);
        }
        Ok(body)
    }
}
