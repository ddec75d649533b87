//! The [`Barrier`]: encrypts on the way to a [`Physical`], decrypts on the way back.
//!
//! Sealed, it holds no keys and refuses every data operation. `unseal` reads `core/keyring`,
//! opens it with the root key and keeps both in memory until `seal`. Writes use the newest term;
//! reads use the term named in the value's header. Node writes its few plain pre-unseal records
//! through [`Barrier::physical`], never through the barrier.
//!
//! Concurrency: the unsealed state is an immutable snapshot behind a `parking_lot::RwLock`,
//! cloned out (an `Arc`) and never held across `.await`. Operations that replace the keyring
//! take one async mutex so two rotations cannot both claim the same next term. `seal` bumps an
//! epoch; a keyring change that started before the seal finds the epoch moved and does not
//! reopen the barrier.
//!
//! Counting: every encryption claims a slot of its term's count; a slot above the ceiling in
//! `core/keyring` first persists a higher one (under the same mutex), so the stored ceiling is
//! never below the encryptions made (`counter.rs` has the rule and why a crash over-counts).

use std::sync::Arc;

use parking_lot::RwLock;

use crate::aead;
use crate::counter::{claim_verdict, Claim, RESERVATION_BLOCK};
use crate::error::BarrierError;
use crate::keyring::{KeyInfo, Keyring, TermKey};
use crate::physical::Physical;
use crate::root_key::RootKey;

/// Where the keyring lives, sealed under the root key as term 0.
pub const KEYRING_PATH: &str = "core/keyring";

/// The encryption barrier over a [`Physical`] store. `Send + Sync`; share it behind an `Arc`.
pub struct Barrier {
    physical: Arc<dyn Physical>,
    state: RwLock<State>,
    /// Serialises initialize, unseal, rotate, reload and reservations (held across awaits,
    /// hence async).
    keyring_change: tokio::sync::Mutex<()>,
    /// Encryptions one keyring write reserves ([`RESERVATION_BLOCK`]; smaller in tests).
    reservation_block: u64,
}

/// What the barrier knows right now.
#[derive(Default)]
struct State {
    /// `Some` while unsealed.
    open: Option<Arc<Unsealed>>,
    /// Incremented by every `seal`.
    seal_epoch: u64,
}

/// The keys of an unsealed barrier. Dropping the last `Arc` zeroizes them.
struct Unsealed {
    root: RootKey,
    keyring: Keyring,
}

impl Barrier {
    /// A sealed barrier over `physical`.
    pub fn new(physical: Arc<dyn Physical>) -> Barrier {
        Barrier {
            physical,
            state: RwLock::new(State::default()),
            keyring_change: tokio::sync::Mutex::new(()),
            reservation_block: RESERVATION_BLOCK,
        }
    }

    /// This barrier reserving `block` encryptions per keyring write, for tests that cross
    /// many blocks.
    #[cfg(test)]
    pub(crate) fn with_reservation_block(mut self, block: u64) -> Barrier {
        self.reservation_block = block;
        self
    }

    /// The store underneath, for the plain pre-unseal records node keeps outside the barrier.
    pub fn physical(&self) -> &Arc<dyn Physical> {
        &self.physical
    }

    /// Whether a keyring exists in storage.
    pub async fn initialized(&self) -> Result<bool, BarrierError> {
        Ok(self.physical.get(KEYRING_PATH).await?.is_some())
    }

    /// Create the keyring (term 1) and store it under `root_key`. Leaves the barrier sealed.
    pub async fn initialize(&self, root_key: &RootKey, now_unix: i64) -> Result<(), BarrierError> {
        let _change = self.keyring_change.lock().await;
        if self.initialized().await? {
            return Err(BarrierError::AlreadyInitialized);
        }
        self.persist(root_key, &Keyring::first(now_unix)?, None)
            .await
    }

    /// Open the keyring with `root_key` and keep the keys until [`Barrier::seal`].
    pub async fn unseal(&self, root_key: &RootKey) -> Result<(), BarrierError> {
        let _change = self.keyring_change.lock().await;
        let epoch = self.state.read().seal_epoch;
        let keyring = self.load(root_key).await?;
        let root = root_key.duplicate();
        self.install(epoch, Unsealed { root, keyring })
    }

    /// Forget the keyring and the root key (zeroized once no operation in flight holds them).
    pub fn seal(&self) {
        let mut state = self.state.write();
        state.open = None;
        state.seal_epoch += 1;
    }

    /// Whether the barrier holds no keys.
    pub fn is_sealed(&self) -> bool {
        self.state.read().open.is_none()
    }

    /// The plaintext at `path`, or `None`. Reloads the keyring once if the value names a term
    /// this barrier has not seen (another node rotated).
    pub async fn get(&self, path: &str) -> Result<Option<Vec<u8>>, BarrierError> {
        check_path(path)?;
        self.unsealed()?;
        let Some(stored) = self.physical.get(path).await? else {
            return Ok(None);
        };
        match self.decrypt(path, &stored) {
            Err(BarrierError::UnknownTerm(_)) => {
                self.reload_keyring().await?;
                self.decrypt(path, &stored).map(Some)
            }
            other => other.map(Some),
        }
    }

    /// Encrypt `value` under the newest term and store it at `path`.
    pub async fn put(&self, path: &str, value: &[u8]) -> Result<(), BarrierError> {
        check_path(path)?;
        let stored = self.encrypt(path, value).await?;
        Ok(self.physical.put(path, stored).await?)
    }

    /// Encrypt each `(path, value)` under the newest term and store them together (one
    /// replicated write where the physical store can: see [`Physical::put_many`]).
    pub async fn put_many(&self, entries: &[(&str, &[u8])]) -> Result<(), BarrierError> {
        for (path, _) in entries {
            check_path(path)?;
        }
        let term = self.claim(entries.len() as u64).await?;
        let mut stored = Vec::with_capacity(entries.len());
        for (path, value) in entries {
            let sealed = aead::seal(term.key(), term.term(), path, value)?;
            stored.push((path.to_string(), sealed));
        }
        Ok(self.physical.put_many(stored).await?)
    }

    /// Remove the value at `path`.
    pub async fn delete(&self, path: &str) -> Result<(), BarrierError> {
        check_path(path)?;
        self.unsealed()?;
        Ok(self.physical.delete(path).await?)
    }

    /// Immediate children of `prefix`, straight from the store: names are not secret.
    pub async fn list(&self, prefix: &str) -> Result<Vec<String>, BarrierError> {
        self.unsealed()?;
        Ok(self.physical.list(prefix).await?)
    }

    /// Add a term and make it the one new writes use; returns it. Merges the stored keyring
    /// first, so a node whose copy is stale cannot reuse a term another node already wrote.
    pub async fn rotate(&self, now_unix: i64) -> Result<KeyInfo, BarrierError> {
        let info = self.rotate_from(None, now_unix).await?;
        info.ok_or_else(|| BarrierError::Corrupt("rotation without a new term".into()))
    }

    /// Rotate only if `term` is still the newest (as stored, too); `None` if another rotation
    /// got there first. For automatic rotation: many writes may find the same term due at
    /// once, and only one new term must come of it.
    pub async fn rotate_if_newest(
        &self,
        term: u32,
        now_unix: i64,
    ) -> Result<Option<KeyInfo>, BarrierError> {
        self.rotate_from(Some(term), now_unix).await
    }

    async fn rotate_from(
        &self,
        expected: Option<u32>,
        now_unix: i64,
    ) -> Result<Option<KeyInfo>, BarrierError> {
        let _change = self.keyring_change.lock().await;
        let (epoch, open) = self.snapshot()?;
        let stored = self.load(&open.root).await?;
        let merged = open.keyring.merged(&stored)?;
        if expected.is_some_and(|t| t != merged.active().term()) {
            // Someone else rotated: learn their term, make none.
            let root = open.root.duplicate();
            self.install(
                epoch,
                Unsealed {
                    root,
                    keyring: merged,
                },
            )?;
            return Ok(None);
        }
        let keyring = merged.rotated(now_unix)?;
        self.persist(&open.root, &keyring, None).await?;
        let info = keyring.active().info();
        let root = open.root.duplicate();
        self.install(epoch, Unsealed { root, keyring })?;
        Ok(Some(info))
    }

    /// The newest term.
    pub fn key_status(&self) -> Result<KeyInfo, BarrierError> {
        Ok(self.unsealed()?.keyring.active().info())
    }

    /// Re-read `core/keyring` with the root key in memory and learn any new terms (a standby
    /// whose active node rotated). Never forgets a term.
    pub async fn reload_keyring(&self) -> Result<(), BarrierError> {
        let _change = self.keyring_change.lock().await;
        let (epoch, open) = self.snapshot()?;
        let stored = self.load(&open.root).await?;
        let keyring = open.keyring.merged(&stored)?;
        let root = open.root.duplicate();
        self.install(epoch, Unsealed { root, keyring })
    }

    /// Re-read `core/keyring` and use exactly it, forgetting terms it does not hold. For when
    /// the stored data was replaced (a snapshot restore, or a node taking over after one): a term
    /// the restored data never knew must not encrypt anything new, or no other node could read it.
    pub async fn reset_keyring(&self) -> Result<(), BarrierError> {
        let _change = self.keyring_change.lock().await;
        let (epoch, open) = self.snapshot()?;
        let keyring = self.load(&open.root).await?;
        let root = open.root.duplicate();
        self.install(epoch, Unsealed { root, keyring })
    }

    /// Seal `plaintext` for `path` under the newest term. Counted: it may first write a new
    /// encryption ceiling to `core/keyring` (once per block of encryptions).
    pub async fn encrypt(&self, path: &str, plaintext: &[u8]) -> Result<Vec<u8>, BarrierError> {
        let term = self.claim(1).await?;
        aead::seal(term.key(), term.term(), path, plaintext)
    }

    /// Claim `n` encryptions under the newest term and return it once they are under the
    /// persisted ceiling (reserving a block first if they are not).
    async fn claim(&self, n: u64) -> Result<Arc<TermKey>, BarrierError> {
        let term = self.unsealed()?.keyring.active().clone();
        let count = term.counter().claim(n);
        if claim_verdict(count, term.counter().ceiling(), self.reservation_block) == Claim::Covered
        {
            return Ok(term);
        }
        self.reserve(&term, count).await?;
        Ok(term)
    }

    /// Persist a ceiling for `term` covering `count` (unless a concurrent reservation already
    /// did), then record it in memory. Merges the stored keyring first, as a rotation does.
    async fn reserve(&self, term: &Arc<TermKey>, count: u64) -> Result<(), BarrierError> {
        let _change = self.keyring_change.lock().await;
        // Cover every claim made so far, not only this one: they are waiting on this lock.
        let count = count.max(term.counter().count());
        let Claim::Reserve { ceiling } =
            claim_verdict(count, term.counter().ceiling(), self.reservation_block)
        else {
            return Ok(());
        };
        let (epoch, open) = self.snapshot()?;
        let stored = self.load(&open.root).await?;
        let keyring = open.keyring.merged(&stored)?;
        let n = term.term();
        if keyring.term(n).is_none() {
            // The stored keyring was replaced (a snapshot restore) and no longer has the term.
            return Err(BarrierError::UnknownTerm(n));
        }
        self.persist(&open.root, &keyring, Some((n, ceiling)))
            .await?;
        term.counter().persisted(ceiling);
        // The keyring in memory may hold another copy of the term (reloaded since this claim
        // began); it learns the claims and the ceiling too.
        if let Some(live) = keyring.term(n).filter(|live| !Arc::ptr_eq(live, term)) {
            live.counter().absorb(ceiling);
        }
        let root = open.root.duplicate();
        self.install(epoch, Unsealed { root, keyring })
    }

    /// Open bytes stored at `path` (no I/O). Fails on tampering, truncation, a different path,
    /// or a term this barrier does not know ([`BarrierError::UnknownTerm`]).
    pub fn decrypt(&self, path: &str, stored: &[u8]) -> Result<Vec<u8>, BarrierError> {
        let open = self.unsealed()?;
        let failed = |reason| BarrierError::Decrypt {
            path: path.to_string(),
            reason,
        };
        let n = aead::term_of(stored).map_err(failed)?;
        let term = open.keyring.term(n).ok_or(BarrierError::UnknownTerm(n))?;
        aead::open(term.key(), n, path, stored).map_err(failed)
    }

    /// The unsealed keys, or `Sealed`.
    fn unsealed(&self) -> Result<Arc<Unsealed>, BarrierError> {
        self.state.read().open.clone().ok_or(BarrierError::Sealed)
    }

    /// The seal epoch and the unsealed keys, read together.
    fn snapshot(&self) -> Result<(u64, Arc<Unsealed>), BarrierError> {
        let state = self.state.read();
        let open = state.open.clone().ok_or(BarrierError::Sealed)?;
        Ok((state.seal_epoch, open))
    }

    /// Replace the unsealed keys, unless the barrier was sealed since `epoch`.
    fn install(&self, epoch: u64, open: Unsealed) -> Result<(), BarrierError> {
        let mut state = self.state.write();
        if state.seal_epoch != epoch {
            return Err(BarrierError::Sealed);
        }
        state.open = Some(Arc::new(open));
        Ok(())
    }

    /// Read and open the stored keyring with `root`.
    async fn load(&self, root: &RootKey) -> Result<Keyring, BarrierError> {
        let stored = self.physical.get(KEYRING_PATH).await?;
        let stored = stored.ok_or(BarrierError::NotInitialized)?;
        let corrupt = |e| BarrierError::Corrupt(format!("{KEYRING_PATH}: {e}"));
        let term = aead::term_of(&stored).map_err(corrupt)?;
        if term != 0 {
            return Err(BarrierError::Corrupt(format!(
                "{KEYRING_PATH} names term {term}, not 0"
            )));
        }
        let json = aead::open(root.key(), 0, KEYRING_PATH, &stored)
            .map_err(|_| BarrierError::InvalidKey)?;
        let keyring = Keyring::from_json(&zeroize::Zeroizing::new(json), root)?;
        Ok(keyring)
    }

    /// Seal `keyring` under `root` and write it to `core/keyring`, with one term's ceiling
    /// raised by `reserve` if given.
    async fn persist(
        &self,
        root: &RootKey,
        keyring: &Keyring,
        reserve: Option<(u32, u64)>,
    ) -> Result<(), BarrierError> {
        let json = keyring.to_json(root, reserve)?;
        let stored = aead::seal(root.key(), 0, KEYRING_PATH, &json)?;
        self.physical.put(KEYRING_PATH, stored).await?;
        Ok(())
    }
}

/// Refuse the barrier's own record as a data path.
fn check_path(path: &str) -> Result<(), BarrierError> {
    if path == KEYRING_PATH {
        return Err(BarrierError::ReservedPath(path.to_string()));
    }
    Ok(())
}

#[cfg(test)]
mod tests;

#[cfg(test)]
mod counting_tests;
