//! The mount tables (`core/mounts` for secrets engines, `core/auth` for auth methods, both inside
//! the barrier) and longest-prefix routing of a request path to its mount.

use crate::engines::{
    cubbyhole::Cubbyhole, database::Database, kv1::KvV1, kv2::KvV2, pki::Pki, transit::Transit,
    SecretEngine,
};
use crate::error::ApiError;
use crate::mounts::{MountConfig, MountEntry};
use crate::storage::StorageView;
use parking_lot::RwLock;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

const MOUNTS_PATH: &str = "core/mounts";
const AUTH_PATH: &str = "core/auth";

/// Mount paths no engine may take.
const RESERVED: &[&str] = &["sys/", "auth/", "cubbyhole/", "identity/"];

/// Which table an operation works on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    Secrets,
    Auth,
}

impl Table {
    fn storage_key(self) -> &'static str {
        match self {
            Table::Secrets => MOUNTS_PATH,
            Table::Auth => AUTH_PATH,
        }
    }

    /// Storage prefix of a mount's data.
    pub fn data_prefix(self, uuid: &str) -> String {
        match self {
            Table::Secrets => format!("logical/{uuid}/"),
            Table::Auth => format!("auth/{uuid}/"),
        }
    }
}

/// Both mount tables, loaded at unseal, and one engine instance per mount.
pub struct MountTable {
    root: StorageView,
    secrets: RwLock<Vec<MountEntry>>,
    auth: RwLock<Vec<MountEntry>>,
    engines: RwLock<HashMap<String, Arc<dyn SecretEngine>>>,
    /// Held across each change's read, persist and swap, so concurrent enables, disables,
    /// tunes and remounts each see the one before (none is lost).
    changes: tokio::sync::Mutex<()>,
}

/// A new engine for a mount type, if this build has one.
fn new_engine(entry: &MountEntry) -> Option<Arc<dyn SecretEngine>> {
    match (entry.kind.as_str(), entry.kv_version()) {
        ("kv", 2) => Some(Arc::new(KvV2::default())),
        ("kv", _) => Some(Arc::new(KvV1)),
        ("transit", _) => Some(Arc::new(Transit::default())),
        ("pki", _) => Some(Arc::new(Pki::default())),
        ("database", _) => Some(Arc::new(Database::default())),
        ("cubbyhole", _) => Some(Arc::new(Cubbyhole)),
        _ => None,
    }
}

/// Where the per-token cubbyhole engine is mounted, always.
pub const CUBBYHOLE_PATH: &str = "cubbyhole/";

/// The built-in cubbyhole mount, as Vault describes it (local: never replicated elsewhere).
fn cubbyhole_entry() -> MountEntry {
    let mut entry = new_entry(
        CUBBYHOLE_PATH,
        "cubbyhole",
        "per-token private secret storage",
        "cubbyhole",
    );
    entry.local = true;
    entry
}

/// Normalise a user-supplied mount path: no leading slash, one trailing slash.
pub fn normalize_path(path: &str) -> String {
    let trimmed = path.trim_matches('/');
    format!("{trimmed}/")
}

fn new_entry(path: &str, kind: &str, description: &str, accessor_prefix: &str) -> MountEntry {
    MountEntry {
        path: path.to_string(),
        kind: kind.to_string(),
        description: description.to_string(),
        uuid: crate::ids::uuid(),
        accessor: format!("{accessor_prefix}_{}", &crate::ids::uuid()[..8]),
        config: MountConfig::default(),
        options: BTreeMap::new(),
        local: false,
        seal_wrap: false,
        external_entropy_access: false,
        running_since: crate::clock::unix_now(),
    }
}

impl MountTable {
    /// Write the initial tables: `sys/` and `cubbyhole/` secrets mounts, `token/` auth.
    pub async fn create_defaults(root: &StorageView) -> Result<(), ApiError> {
        let sys = new_entry(
            "sys/",
            "system",
            "system endpoints used for control, policy and debugging",
            "system",
        );
        root.put_json(MOUNTS_PATH, &vec![sys, cubbyhole_entry()])
            .await?;
        let token = new_entry("token/", "token", "token based credentials", "auth_token");
        root.put_json(AUTH_PATH, &vec![token]).await
    }

    /// Load both tables from the barrier.
    pub async fn load(root: StorageView) -> Result<MountTable, ApiError> {
        let mut secrets: Vec<MountEntry> = root.get_json(MOUNTS_PATH).await?.unwrap_or_default();
        if !secrets.is_empty() && !secrets.iter().any(|e| e.path == CUBBYHOLE_PATH) {
            // A table written before cubbyhole existed: serve one with a fixed storage prefix
            // (nothing to persist, every node derives the same entry).
            let mut entry = cubbyhole_entry();
            entry.uuid = "cubbyhole".into();
            entry.accessor = "cubbyhole_default".into();
            secrets.push(entry);
        }
        let auth: Vec<MountEntry> = root.get_json(AUTH_PATH).await?.unwrap_or_default();
        Ok(MountTable {
            root,
            secrets: RwLock::new(secrets),
            auth: RwLock::new(auth),
            engines: RwLock::new(HashMap::new()),
            changes: tokio::sync::Mutex::new(()),
        })
    }

    fn table(&self, table: Table) -> &RwLock<Vec<MountEntry>> {
        match table {
            Table::Secrets => &self.secrets,
            Table::Auth => &self.auth,
        }
    }

    /// A copy of a table, sorted by path.
    pub fn entries(&self, table: Table) -> Vec<MountEntry> {
        let mut v = self.table(table).read().clone();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    /// The entry mounted exactly at `path` (normalised).
    pub fn get(&self, table: Table, path: &str) -> Option<MountEntry> {
        let path = normalize_path(path);
        self.table(table)
            .read()
            .iter()
            .find(|e| e.path == path)
            .cloned()
    }

    /// Longest-prefix match of a request path (relative to the table's root: `secret/data/x`, or
    /// `userpass/login/bob` for auth). Returns the entry and the path inside the mount.
    pub fn route(&self, table: Table, path: &str) -> Option<(MountEntry, String)> {
        let entries = self.table(table).read();
        entries
            .iter()
            .filter(|e| path.starts_with(&e.path) || e.path.strip_suffix('/') == Some(path))
            .max_by_key(|e| e.path.len())
            .map(|e| {
                let rel = path.get(e.path.len()..).unwrap_or("").to_string();
                (e.clone(), rel)
            })
    }

    async fn persist(&self, table: Table, entries: &Vec<MountEntry>) -> Result<(), ApiError> {
        self.root.put_json(table.storage_key(), entries).await
    }

    /// Add a mount. Fails on reserved or overlapping paths.
    pub async fn enable(
        &self,
        table: Table,
        path: &str,
        kind: &str,
        description: &str,
        config: MountConfig,
        options: BTreeMap<String, String>,
    ) -> Result<(), ApiError> {
        let path = normalize_path(path);
        if path == "/" {
            return Err(ApiError::bad("path cannot be empty"));
        }
        if table == Table::Secrets && RESERVED.iter().any(|r| path.starts_with(r)) {
            return Err(ApiError::bad(format!(
                "cannot mount to reserved path \"{path}\""
            )));
        }
        let prefix = if table == Table::Auth { "auth" } else { kind };
        let mut entry = new_entry(&path, kind, description, prefix);
        entry.config = config;
        entry.options = options;
        let _change = self.changes.lock().await;
        let mut entries = self.table(table).read().clone();
        if let Some(existing) = entries
            .iter()
            .find(|e| e.path.starts_with(&path) || path.starts_with(&e.path))
        {
            return Err(ApiError::bad(format!(
                "path is already in use at {}",
                existing.path
            )));
        }
        entries.push(entry);
        self.persist(table, &entries).await?;
        *self.table(table).write() = entries;
        Ok(())
    }

    /// Remove a mount and every entry it stored.
    pub async fn disable(&self, table: Table, path: &str) -> Result<(), ApiError> {
        let path = normalize_path(path);
        let builtin = match table {
            Table::Secrets => path == "sys/" || path == CUBBYHOLE_PATH,
            Table::Auth => path == "token/",
        };
        if builtin {
            return Err(ApiError::bad(format!("cannot unmount \"{path}\"")));
        }
        let _change = self.changes.lock().await;
        let mut entries = self.table(table).read().clone();
        let Some(pos) = entries.iter().position(|e| e.path == path) else {
            return Ok(()); // Vault: disabling a mount that is not there succeeds.
        };
        let removed = entries.remove(pos);
        self.persist(table, &entries).await?;
        *self.table(table).write() = entries;
        self.engines
            .write()
            .retain(|k, _| !k.starts_with(&removed.uuid));
        let data = self.root.sub(&table.data_prefix(&removed.uuid));
        for key in data.list_recursive("").await? {
            data.delete(&key).await?;
        }
        Ok(())
    }

    /// Replace a mount's config (`tune`).
    pub async fn tune(
        &self,
        table: Table,
        path: &str,
        update: impl FnOnce(&mut MountEntry) -> Result<(), ApiError>,
    ) -> Result<(), ApiError> {
        let path = normalize_path(path);
        let _change = self.changes.lock().await;
        let mut entries = self.table(table).read().clone();
        let entry = entries
            .iter_mut()
            .find(|e| e.path == path)
            .ok_or_else(|| ApiError::bad(format!("no mount at {path}")))?;
        update(entry)?;
        self.persist(table, &entries).await?;
        *self.table(table).write() = entries;
        Ok(())
    }

    /// Move a mount to another path; its data stays under the same UUID.
    pub async fn remount(&self, table: Table, from: &str, to: &str) -> Result<(), ApiError> {
        let (from, to) = (normalize_path(from), normalize_path(to));
        if from == "sys/" || from == CUBBYHOLE_PATH || RESERVED.iter().any(|r| to.starts_with(r)) {
            return Err(ApiError::bad(format!(
                "cannot remount \"{from}\" to \"{to}\""
            )));
        }
        let _change = self.changes.lock().await;
        let mut entries = self.table(table).read().clone();
        if entries
            .iter()
            .any(|e| e.path.starts_with(&to) || to.starts_with(&e.path))
        {
            return Err(ApiError::bad(format!("path already in use at {to}")));
        }
        let entry = entries
            .iter_mut()
            .find(|e| e.path == from)
            .ok_or_else(|| ApiError::bad(format!("no matching mount at \"{from}\"")))?;
        entry.path = to;
        self.persist(table, &entries).await?;
        *self.table(table).write() = entries;
        Ok(())
    }

    /// The engine serving a mount (created on first use, kept while the mount's version is the same).
    pub fn engine(&self, entry: &MountEntry) -> Option<Arc<dyn SecretEngine>> {
        let cache_key = format!("{}:{}:{}", entry.uuid, entry.kind, entry.kv_version());
        if let Some(engine) = self.engines.read().get(&cache_key) {
            return Some(engine.clone());
        }
        let engine = new_engine(entry)?;
        Some(
            self.engines
                .write()
                .entry(cache_key)
                .or_insert(engine)
                .clone(),
        )
    }

    /// The storage of the cubbyhole mount (every token's cubbyhole), if mounted.
    pub fn cubbyhole_storage(&self) -> Option<StorageView> {
        let entry = self.get(Table::Secrets, CUBBYHOLE_PATH)?;
        Some(self.storage_for(Table::Secrets, &entry))
    }

    /// The private storage of a mount.
    pub fn storage_for(&self, table: Table, entry: &MountEntry) -> StorageView {
        self.root.sub(&table.data_prefix(&entry.uuid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::{unsealed_barrier, YieldingPhysical};
    use coffer_barrier::MemPhysical;

    /// A root view over a store that yields at every call, so concurrent changes interleave.
    async fn root() -> StorageView {
        let physical = Arc::new(YieldingPhysical(Arc::new(MemPhysical::new())));
        let root = StorageView::new(unsealed_barrier(physical).await, "");
        MountTable::create_defaults(&root).await.unwrap();
        root
    }

    #[tokio::test]
    async fn concurrent_enables_and_disables_all_persist() {
        let root = root().await;
        let mounts = MountTable::load(root.clone()).await.unwrap();
        let enable = |table: Table, path: String| {
            let mounts = &mounts;
            async move {
                let config = MountConfig::default();
                let kind = if table == Table::Auth {
                    "userpass"
                } else {
                    "kv"
                };
                mounts
                    .enable(table, &path, kind, "", config, BTreeMap::new())
                    .await
            }
        };
        let secrets = (0..20).map(|n| enable(Table::Secrets, format!("kv-{n}")));
        let auth = (0..10).map(|n| enable(Table::Auth, format!("up-{n}")));
        let results = futures::future::join_all(secrets.chain(auth)).await;
        assert!(results.iter().all(Result::is_ok));
        let paths: Vec<_> = (0..5).map(|n| format!("kv-{n}/")).collect();
        let disables = paths.iter().map(|p| mounts.disable(Table::Secrets, p));
        let results = futures::future::join_all(disables).await;
        assert!(results.iter().all(Result::is_ok));

        // What is stored, read back as a new active state would.
        let reloaded = MountTable::load(root).await.unwrap();
        let secrets = reloaded.entries(Table::Secrets);
        let kv = secrets.iter().filter(|e| e.kind == "kv").count();
        assert_eq!(kv, 15, "{secrets:?}");
        assert!(reloaded.get(Table::Secrets, "kv-4").is_none());
        assert!(reloaded.get(Table::Secrets, "kv-19").is_some());
        assert_eq!(
            reloaded.entries(Table::Auth).len(),
            11,
            "token/ and 10 more"
        );
    }

    #[test]
    fn normalizes_paths() {
        assert_eq!(normalize_path("/secret"), "secret/");
        assert_eq!(normalize_path("kv/app/"), "kv/app/");
    }
}
