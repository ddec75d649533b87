//! The token store. Layout under `sys/token/` (all inside the barrier):
//! `id/<sha256(token)>` → `TokenEntry`; `accessor/<accessor>` → the hash; and
//! `parent/<parent hash>/<child hash>` → an empty marker, so revoking a token finds its children.

use super::entry::TokenEntry;
use crate::clock::unix_now_ms;
use crate::error::ApiError;
use crate::storage::StorageView;
use sha2::{Digest, Sha256};
use std::sync::Arc;

/// Told of every token the store revokes, by accessor (the lease manager: a revoked token's
/// secret leases are revoked too). Called inside the revocation, so it must only take note.
pub trait RevocationListener: Send + Sync {
    fn token_revoked(&self, accessor: &str);
}

/// Storage key of a token: its SHA-256 in hex, so a storage dump never shows a usable token id.
pub fn token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

/// Tokens, accessors, parents.
pub struct TokenStore {
    view: StorageView,
    /// The cubbyhole mount's storage: a revoked token's cubbyhole goes with it.
    cubbyhole: Option<StorageView>,
    /// Serialises spending uses of limited-use tokens: the read, the decrement and the write of
    /// one use happen under it, so N concurrent requests with an N-use token spend N uses, not 1.
    /// Revocations (and renewals) take it too, so a use cannot write back a revoked entry.
    uses: tokio::sync::Mutex<()>,
    listener: Option<Arc<dyn RevocationListener>>,
}

impl TokenStore {
    /// The store over `sys/token/`.
    pub fn new(view: StorageView) -> Self {
        TokenStore {
            view,
            cubbyhole: None,
            uses: tokio::sync::Mutex::new(()),
            listener: None,
        }
    }

    /// Tell `listener` of every revoked token.
    pub fn with_listener(mut self, listener: Arc<dyn RevocationListener>) -> Self {
        self.listener = Some(listener);
        self
    }

    /// The cubbyhole mount's storage, when the store was given it.
    pub fn cubbyhole(&self) -> Option<&StorageView> {
        self.cubbyhole.as_ref()
    }

    /// Delete each revoked token's cubbyhole from `storage` (the cubbyhole mount's).
    pub fn with_cubbyhole(mut self, storage: StorageView) -> Self {
        self.cubbyhole = Some(storage);
        self
    }

    /// The storage of token roles.
    pub fn roles_view(&self) -> StorageView {
        self.view.sub("roles/")
    }

    /// A new random token id.
    pub fn generate_id() -> String {
        format!("hvs.{}", crate::ids::base62(24))
    }

    /// Create the root token at init.
    pub async fn create_root_token(&self) -> Result<String, ApiError> {
        let entry = TokenEntry {
            id: Self::generate_id(),
            accessor: crate::ids::base62(24),
            policies: vec!["root".into()],
            display_name: "root".into(),
            creation_ms: unix_now_ms(),
            path: "auth/token/root".into(),
            orphan: true,
            ..Default::default()
        };
        self.store(&entry).await?;
        Ok(entry.id)
    }

    /// Persist an entry with its accessor and parent links.
    pub async fn store(&self, entry: &TokenEntry) -> Result<(), ApiError> {
        let hash = token_hash(&entry.id);
        self.view.put_json(&format!("id/{hash}"), entry).await?;
        self.view
            .put(&format!("accessor/{}", entry.accessor), hash.as_bytes())
            .await?;
        if !entry.parent.is_empty() {
            self.view
                .put(&format!("parent/{}/{hash}", entry.parent), b"")
                .await?;
        }
        Ok(())
    }

    /// The live entry of a token; expired tokens are revoked on sight and count as absent.
    pub async fn lookup(&self, token: &str) -> Result<Option<TokenEntry>, ApiError> {
        self.lookup_hash(&token_hash(token)).await
    }

    async fn lookup_hash(&self, hash: &str) -> Result<Option<TokenEntry>, ApiError> {
        let Some(entry) = self
            .view
            .get_json::<TokenEntry>(&format!("id/{hash}"))
            .await?
        else {
            return Ok(None);
        };
        if entry.expired(unix_now_ms()) {
            self.revoke_tree(hash).await?;
            return Ok(None);
        }
        Ok(Some(entry))
    }

    /// The entry behind an accessor.
    pub async fn lookup_accessor(&self, accessor: &str) -> Result<Option<TokenEntry>, ApiError> {
        match self.view.get(&format!("accessor/{accessor}")).await? {
            None => Ok(None),
            Some(hash) => self.lookup_hash(&String::from_utf8_lossy(&hash)).await,
        }
    }

    /// Spend one use of a limited-use token; the last use revokes it. `entry` is what the
    /// request authenticated with; the count is read again under the lock, so a use that
    /// another request spent in between is seen, and a token used up meanwhile is refused (403).
    pub async fn use_token(&self, entry: &TokenEntry) -> Result<(), ApiError> {
        if entry.num_uses == 0 {
            return Ok(());
        }
        let _spending = self.uses.lock().await;
        let hash = token_hash(&entry.id);
        let Some(current) = self.lookup_hash(&hash).await? else {
            return Err(ApiError::PermissionDenied);
        };
        match current.num_uses {
            0 => Ok(()),
            1 => self.revoke_tree(&hash).await,
            n => {
                let mut updated = current;
                updated.num_uses = n - 1;
                self.view.put_json(&format!("id/{hash}"), &updated).await
            }
        }
    }

    /// Revoke a token and, recursively, every token it created. Under the uses lock, like every
    /// revocation by request: a use in flight read the entry before and writes its decremented
    /// count back after, which would bring a token revoked in between back to life.
    pub async fn revoke(&self, token: &str) -> Result<(), ApiError> {
        let _spending = self.uses.lock().await;
        self.revoke_tree(&token_hash(token)).await
    }

    /// Revoke the token behind an accessor (and its children).
    pub async fn revoke_accessor(&self, accessor: &str) -> Result<bool, ApiError> {
        let _spending = self.uses.lock().await;
        match self.view.get(&format!("accessor/{accessor}")).await? {
            None => Ok(false),
            Some(hash) => {
                self.revoke_tree(&String::from_utf8_lossy(&hash)).await?;
                Ok(true)
            }
        }
    }

    /// Revoke only this token; its children become orphans.
    pub async fn revoke_orphan(&self, token: &str) -> Result<(), ApiError> {
        let hash = token_hash(token);
        let _spending = self.uses.lock().await;
        for child in self.view.list(&format!("parent/{hash}/")).await? {
            let key = format!("id/{child}");
            if let Some(mut entry) = self.view.get_json::<TokenEntry>(&key).await? {
                entry.parent.clear();
                entry.orphan = true;
                self.view.put_json(&key, &entry).await?;
            }
            self.view.delete(&format!("parent/{hash}/{child}")).await?;
        }
        self.remove_one(&hash).await
    }

    /// Depth-first revocation; children first, so a crash midway leaves no orphaned child alive
    /// under a revoked parent that could not be found again.
    async fn revoke_tree(&self, hash: &str) -> Result<(), ApiError> {
        let mut stack = vec![(hash.to_string(), false)];
        while let Some((h, expanded)) = stack.pop() {
            if expanded {
                self.remove_one(&h).await?;
                continue;
            }
            stack.push((h.clone(), true));
            for child in self.view.list(&format!("parent/{h}/")).await? {
                stack.push((child, false));
            }
        }
        Ok(())
    }

    /// The token's own entry goes first: a crash (or seal) midway then leaves only records
    /// that point at nothing (an accessor `tidy` removes, parent links a later revocation
    /// skips), never a live token whose accessor is gone — one that revocation by accessor or
    /// lease would answer 204 for and leave alive.
    async fn remove_one(&self, hash: &str) -> Result<(), ApiError> {
        let entry = self
            .view
            .get_json::<TokenEntry>(&format!("id/{hash}"))
            .await?;
        self.view.delete(&format!("id/{hash}")).await?;
        if let Some(entry) = entry {
            if let Some(listener) = &self.listener {
                listener.token_revoked(&entry.accessor);
            }
            self.view
                .delete(&format!("accessor/{}", entry.accessor))
                .await?;
            if !entry.parent.is_empty() {
                self.view
                    .delete(&format!("parent/{}/{hash}", entry.parent))
                    .await?;
            }
        }
        for child in self.view.list(&format!("parent/{hash}/")).await? {
            self.view.delete(&format!("parent/{hash}/{child}")).await?;
        }
        // After the token itself: a crash in between leaves an unreachable cubbyhole, never a
        // live token whose cubbyhole is gone.
        if let Some(cubbyhole) = &self.cubbyhole {
            super::cubbyhole::destroy(cubbyhole, hash).await?;
        }
        Ok(())
    }

    /// Save an updated entry (renewal). Uses are counted only by `use_token`: the stored count
    /// is kept, so a renewal racing with a use cannot give the use back.
    pub async fn update(&self, entry: &TokenEntry) -> Result<(), ApiError> {
        let _spending = self.uses.lock().await;
        let key = format!("id/{}", token_hash(&entry.id));
        let Some(current) = self.view.get_json::<TokenEntry>(&key).await? else {
            return Err(ApiError::bad("invalid token"));
        };
        let mut updated = entry.clone();
        updated.num_uses = current.num_uses;
        self.view.put_json(&key, &updated).await
    }

    /// Remove `accessor`'s record if the token it names is gone (expired tokens are revoked by
    /// the lookup). Whether it removed anything.
    pub async fn tidy_accessor(&self, accessor: &str) -> Result<bool, ApiError> {
        let Some(hash) = self.view.get(&format!("accessor/{accessor}")).await? else {
            return Ok(false);
        };
        let hash = String::from_utf8_lossy(&hash).into_owned();
        if self.lookup_hash(&hash).await?.is_some() {
            return Ok(false);
        }
        self.view.delete(&format!("accessor/{accessor}")).await?;
        Ok(true)
    }

    /// Revoke every token created under `prefix` (`auth/userpass/`), with its children: what
    /// disabling an auth method does to the tokens its logins issued. Returns how many.
    pub async fn revoke_by_path_prefix(&self, prefix: &str) -> Result<usize, ApiError> {
        let _spending = self.uses.lock().await;
        let mut revoked = 0;
        for hash in self.view.list("id/").await? {
            let Some(entry) = self
                .view
                .get_json::<TokenEntry>(&format!("id/{hash}"))
                .await?
            else {
                continue;
            };
            if entry.path.starts_with(prefix) {
                self.revoke_tree(&hash).await?;
                revoked += 1;
            }
        }
        Ok(revoked)
    }

    /// All accessors (LIST auth/token/accessors).
    pub async fn accessors(&self) -> Result<Vec<String>, ApiError> {
        self.view.list("accessor/").await
    }
}
