//! Secret leases (Vault's expiration manager, for secrets; token leases are tokens, see
//! `sys/leases.rs`). When an engine's answer carries a [`SecretLease`], the pipeline registers
//! it here: a record behind the barrier (`store.rs`) with id `<request path>/<random>`, a TTL
//! capped by the mount's max TTL (`record.rs`), and a place in the expiry schedule
//! (`schedule.rs`). The active node alone runs the schedule (`expiry.rs`): on expiry it calls
//! the engine's `revoke_secret`; a failure keeps the lease and retries with backoff. Renewal and
//! revocation by request are in `ops.rs`.
//!
//! No lease is revoked twice on one node: every revocation of an id runs under that id's lock
//! and re-reads the record, and the record is deleted as soon as the engine confirms. A later
//! active node only sees records still stored, and its writes are fenced to its own term.

mod expiry;
mod ops;
mod record;
mod schedule;
#[cfg(madsim)]
pub mod sim_registry;
mod store;
#[cfg(test)]
mod tests;

pub use expiry::run as run_expiry;
pub use record::{initial_ttl, LeaseRecord, Limits};
pub use schedule::{backoff_ms, Schedule, MAX_BACKOFF_MS};
pub use store::LeaseStore;

use crate::engines::{SecretEngine, SecretLease};
use crate::error::ApiError;
use crate::mounts::MountEntry;
use crate::request::Response;
use crate::router::{MountTable, Table};
use crate::storage::StorageView;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

/// How the manager reaches the engine of a mount (the mount table; a test engine in tests).
pub trait EngineLookup: Send + Sync {
    /// The mount with `uuid`, its engine and its private storage; `None` once unmounted.
    fn by_uuid(&self, uuid: &str) -> Option<(MountEntry, Arc<dyn SecretEngine>, StorageView)>;
}

impl EngineLookup for MountTable {
    fn by_uuid(&self, uuid: &str) -> Option<(MountEntry, Arc<dyn SecretEngine>, StorageView)> {
        let entry = self
            .entries(Table::Secrets)
            .into_iter()
            .find(|e| e.uuid == uuid)?;
        let engine = self.engine(&entry)?;
        let storage = self.storage_for(Table::Secrets, &entry);
        Some((entry, engine, storage))
    }
}

/// The secret leases of one active state.
pub struct LeaseManager {
    store: LeaseStore,
    engines: Arc<dyn EngineLookup>,
    system_default_secs: u64,
    system_max_secs: u64,
    schedule: Mutex<Schedule>,
    /// Wakes the expiry task: the schedule changed, a token was revoked, or it must stop.
    wake: tokio::sync::Notify,
    stopped: AtomicBool,
    /// One lock per lease id being revoked or renewed.
    locks: Mutex<HashMap<String, Arc<tokio::sync::Mutex<()>>>>,
    /// Accessors of revoked tokens whose leases the expiry task must revoke.
    revoked_tokens: Mutex<Vec<String>>,
    /// Leases whose registering write has not answered, or answered an error: it may still be
    /// committed (by this leader, once it reaches a quorum again), so their expiry does not
    /// give up on a missing record but looks again later.
    unsettled: Mutex<HashSet<String>>,
}

/// Vault's answer for a lease id that names nothing.
pub fn invalid_lease() -> ApiError {
    ApiError::bad("invalid lease")
}

impl LeaseManager {
    /// A manager over `view` (the barrier at `sys/expire/`), with the system's TTLs.
    pub fn new(
        view: StorageView,
        engines: Arc<dyn EngineLookup>,
        system_default_secs: u64,
        system_max_secs: u64,
    ) -> Self {
        LeaseManager {
            store: LeaseStore::new(view),
            engines,
            system_default_secs,
            system_max_secs,
            schedule: Mutex::new(Schedule::default()),
            wake: tokio::sync::Notify::new(),
            stopped: AtomicBool::new(false),
            locks: Mutex::new(HashMap::new()),
            revoked_tokens: Mutex::new(Vec::new()),
            unsettled: Mutex::new(HashSet::new()),
        }
    }

    /// The records.
    pub fn store(&self) -> &LeaseStore {
        &self.store
    }

    /// Stop expiring: this state is no longer the active one.
    pub fn stop(&self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.wake.notify_one();
    }

    pub fn is_stopped(&self) -> bool {
        self.stopped.load(Ordering::SeqCst)
    }

    fn limits(&self, mount: &MountEntry) -> Limits {
        Limits {
            mount_default_secs: mount.config.default_lease_ttl,
            mount_max_secs: mount.config.max_lease_ttl,
            system_default_secs: self.system_default_secs,
            system_max_secs: self.system_max_secs,
        }
    }

    /// Register the secret an engine attached to `resp` (answering `path` on `mount` for the
    /// token `accessor`), and fill the reply's `lease_id`, `lease_duration`, `renewable`.
    pub async fn register(
        &self,
        mount: &MountEntry,
        path: &str,
        accessor: &str,
        secret: SecretLease,
        resp: &mut Response,
    ) -> Result<(), ApiError> {
        let (ttl, max) = initial_ttl(secret.ttl_secs, secret.max_ttl_secs, &self.limits(mount));
        let now = crate::clock::unix_now_ms();
        #[cfg(madsim)]
        let issue_true_ms = sim_registry::true_now_ms();
        let rec = LeaseRecord {
            lease_id: format!("{}/{}", path.trim_matches('/'), crate::ids::base62(24)),
            mount_uuid: mount.uuid.clone(),
            mount_path: mount.path.clone(),
            path: path.trim_matches('/').to_string(),
            issue_time_ms: now,
            expire_time_ms: record::add_secs(now, ttl),
            last_renewal_ms: None,
            max_expire_ms: record::add_secs(now, max),
            renewable: secret.renewable,
            internal: secret.internal,
            accessor: accessor.to_string(),
        };
        // Noted before the write: a write that answers an error may still be committed.
        #[cfg(madsim)]
        sim_registry::record(
            &rec.lease_id,
            sim_registry::EventKind::Issued {
                issue_wall_ms: rec.issue_time_ms,
                expire_wall_ms: rec.expire_time_ms,
                issue_true_ms,
            },
        );
        // Scheduled before the write: a write that answers an error may still be committed
        // (by this leader, later), and the lease must expire then too. Until the write answers
        // Ok the lease is unsettled: an expiry that finds no record looks again later (with
        // backoff) instead of letting it go.
        self.unsettled.lock().insert(rec.lease_id.clone());
        self.schedule_at(&rec.lease_id, rec.expire_time_ms);
        self.store.put(&rec).await?;
        self.unsettled.lock().remove(&rec.lease_id);
        resp.lease_id = rec.lease_id;
        resp.lease_duration = ttl;
        resp.renewable = rec.renewable;
        Ok(())
    }

    fn schedule_at(&self, id: &str, due_ms: i64) {
        self.schedule.lock().set(id, due_ms);
        self.wake.notify_one();
    }

    /// Load every stored lease into the schedule (a node that became active); an expired one
    /// is due at once.
    pub async fn restore(&self) -> Result<usize, ApiError> {
        if coffer_raft::mutant::mutant("lease_restore_skipped") {
            // The planted bug: a new active node never learns the leases issued before it.
            return Ok(0);
        }
        let mut count = 0;
        for id in self.store.ids().await? {
            if let Some(rec) = self.store.get(&id).await? {
                self.schedule.lock().set(&id, rec.expire_time_ms);
                count += 1;
            }
        }
        self.wake.notify_one();
        Ok(count)
    }

    /// When `id` is due to expire, as scheduled on this node.
    pub fn scheduled(&self, id: &str) -> Option<i64> {
        self.schedule.lock().due(id)
    }

    /// The lock that serialises revocations and renewals of `id`.
    fn lock_of(&self, id: &str) -> Arc<tokio::sync::Mutex<()>> {
        self.locks.lock().entry(id.to_string()).or_default().clone()
    }

    /// Drop `id`'s lock once nobody else holds or waits for it.
    fn release(&self, id: &str, lock: Arc<tokio::sync::Mutex<()>>) {
        let mut locks = self.locks.lock();
        // Ours and the map's: nobody else cloned it (clones happen under this same lock).
        if Arc::strong_count(&lock) == 2 {
            locks.remove(id);
        }
    }
}

impl crate::token::RevocationListener for LeaseManager {
    /// A token was revoked: its leases go too (asynchronously, by the expiry task, as Vault
    /// expires them at once rather than inside the token's revocation).
    fn token_revoked(&self, accessor: &str) {
        if accessor.is_empty() {
            return;
        }
        self.revoked_tokens.lock().push(accessor.to_string());
        self.wake.notify_one();
    }
}
