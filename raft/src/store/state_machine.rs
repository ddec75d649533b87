//! [`StateMachine`]: applies committed [`Command`]s to `Space::Data` and records how far it got
//! (`sm/applied`, `sm/membership`) in the same atomic batch; builds and installs snapshots.
//!
//! Snapshots are *fuzzy*: building one records only its metadata (the applied log id and
//! membership at that moment), and its bytes are read from `Space::Data` when a follower needs
//! them, so they may also hold entries applied after that log id. That is safe because every
//! [`Command`] is a blind write (put, delete, range replace; a fence looks only at the entry):
//! applying entries `L+1..=n` again to a state that already holds some of them gives the same
//! state as applying them once, and a follower that installs the snapshot replays exactly those.
//! What it saves: no copy of the whole data space is written (synced) into the engine at every
//! snapshot, and the state machine worker no longer stops applying while one is captured.
//!
//! The one command that reads the state, a restore commit, records its own log id as the
//! current snapshot's in the batch that applies it, so snapshot bytes that show its effect never
//! come with an applied index below it (see [`super::restore`]).

use std::io;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use futures::{Stream, StreamExt};
use openraft::storage::{EntryResponder, RaftStateMachine};
use openraft::{EntryPayload, OptionalSend, RaftSnapshotBuilder};

use super::{io_err, keys, restore, snapshot, to_json, Storage};
use crate::engine::{Pair, Space, WriteBatch};
use crate::mutant::mutant;
use crate::runtime::CofferRuntime;
use crate::types::{
    Applied, Command, LogId, Snapshot, SnapshotData, SnapshotMeta, StoredMembership, TypeConfig,
};
use openraft::AsyncRuntime as _;

/// The replicated key/value state. Cloning shares the same engine.
#[derive(Clone)]
pub struct StateMachine {
    storage: Storage,
    stats: std::sync::Arc<crate::RaftStats>,
    /// False while `Raft::new` reads this node's initial state. openraft asks for the current
    /// snapshot twice then and reads only its metadata; scanning every data pair for it made a
    /// node with a million secrets take seconds to start. Set once `Raft::new` returned.
    started: Arc<AtomicBool>,
}

/// Builds one snapshot's metadata from the applied state read when it was created.
pub struct SnapshotBuilder {
    storage: Storage,
    stats: std::sync::Arc<crate::RaftStats>,
    captured: Option<io::Result<SnapshotMeta>>,
}

impl StateMachine {
    pub(crate) fn new(storage: Storage, stats: std::sync::Arc<crate::RaftStats>) -> Self {
        StateMachine {
            storage,
            stats,
            started: Arc::default(),
        }
    }

    /// The flag to raise once openraft has read the initial state (see `started`).
    pub(crate) fn started_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.started)
    }

    fn applied(&self) -> io::Result<(Option<LogId>, StoredMembership)> {
        let applied = self.storage.meta(keys::APPLIED)?;
        let membership = self.storage.meta(keys::MEMBERSHIP)?.unwrap_or_default();
        Ok((applied, membership))
    }

    fn capture(&self) -> io::Result<SnapshotMeta> {
        let (last_log_id, last_membership) = self.applied()?;
        Ok(SnapshotMeta {
            last_log_id,
            last_membership,
        })
    }

    /// The snapshot bytes: every pair of `Space::Data` now (one consistent scan), staged
    /// restore chunks included.
    fn data_now(&self) -> io::Result<SnapshotData> {
        let pairs: Vec<Pair> = self
            .storage
            .engine()
            .scan(Space::Data, b"", None)
            .map_err(io_err)?;
        Ok(snapshot::encode(&pairs))
    }

    /// Apply the commit of restore `id` (entry `log_id`) in its own batch, off the async worker
    /// (it may move a whole data space), recording `log_id` as applied and as the current
    /// snapshot's. The engine must already hold every earlier entry. Returns whether the data
    /// was replaced.
    async fn commit_restore(&self, log_id: LogId, id: u64, pairs: u64) -> io::Result<bool> {
        let last_membership: StoredMembership =
            self.storage.meta(keys::MEMBERSHIP)?.unwrap_or_default();
        let storage = self.storage.clone();
        CofferRuntime::spawn_blocking(move || {
            let mut batch = WriteBatch::new();
            let complete = restore::add_commit(storage.engine(), &mut batch, id, pairs)?;
            batch.put(Space::Meta, keys::APPLIED, to_json(&log_id)?);
            let meta = SnapshotMeta {
                last_log_id: Some(log_id),
                last_membership,
            };
            add_snapshot(&mut batch, &meta)?;
            let _meta = storage.snapshot_meta_lock();
            storage.write(batch)?;
            Ok(complete)
        })
        .await?
    }
}

/// `cmd` without its fences, or `None` when a fence of another term than `entry_term` keeps
/// it out.
fn unfence(cmd: Command, entry_term: u64) -> Option<Command> {
    match cmd {
        Command::Fenced { term, cmd } if term == entry_term || mutant("fence_ignored") => {
            unfence(*cmd, entry_term)
        }
        Command::Fenced { .. } => None,
        cmd => Some(cmd),
    }
}

/// Add `cmd`'s effect on `Space::Data` to `batch`, in order, for an entry of Raft term
/// `entry_term`. Returns false when a fence kept it out.
fn add_command(batch: &mut WriteBatch, cmd: Command, entry_term: u64) -> bool {
    match cmd {
        Command::Fenced { term, cmd } => {
            if term != entry_term && !mutant("fence_ignored") {
                return false;
            }
            return add_command(batch, *cmd, entry_term);
        }
        Command::Put { key, value } => batch.put(Space::Data, key, value),
        Command::Delete { key } => batch.delete(Space::Data, key),
        Command::Batch(cmds) => {
            for c in cmds {
                add_command(batch, c, entry_term);
            }
        }
        Command::Restore { pairs } => {
            batch.delete_range(Space::Data, Vec::new(), None);
            for (key, value) in pairs {
                batch.put(Space::Data, key, value);
            }
        }
        Command::StageRestore { id, pairs } => restore::add_stage(batch, id, pairs),
        Command::AbortRestore { id } => restore::add_abort(batch, id),
        // A commit reads the state, so it is applied only as a whole entry (see `apply`);
        // inside a batch it changes nothing.
        Command::CommitRestore { id, .. } => {
            tracing::warn!(restore = id, "a restore commit inside a batch is ignored");
        }
    }
    true
}

/// Record `meta` as the current snapshot's, into `batch` (dropping the data copy that stores
/// written before snapshots were fuzzy kept beside it).
fn add_snapshot(batch: &mut WriteBatch, meta: &SnapshotMeta) -> io::Result<()> {
    batch.put(Space::Meta, keys::SNAPSHOT_META, to_json(meta)?);
    batch.delete(Space::Meta, keys::SNAPSHOT_DATA);
    Ok(())
}

impl RaftStateMachine<TypeConfig> for StateMachine {
    type SnapshotData = SnapshotData;
    type SnapshotBuilder = SnapshotBuilder;

    async fn applied_state(&mut self) -> io::Result<(Option<LogId>, StoredMembership)> {
        self.applied()
    }

    /// One batch for the whole stream: data changes plus the new applied log id and membership.
    /// Unsynced: if a crash loses it, the entries are still in the (synced) log and re-applied.
    async fn apply<Strm>(&mut self, mut entries: Strm) -> io::Result<()>
    where
        Strm: Stream<Item = io::Result<EntryResponder<TypeConfig>>> + Unpin + OptionalSend,
    {
        let mut batch = WriteBatch::new();
        let mut responders = Vec::new();
        let mut last_applied = None;
        let mut started = None;
        let mut count = 0;
        while let Some(item) = entries.next().await {
            let (entry, responder) = item?;
            started.get_or_insert_with(tokio::time::Instant::now);
            count += 1;
            let mut applied = Applied::default();
            match entry.payload {
                EntryPayload::Blank => {}
                EntryPayload::Normal(_)
                    if mutant("sm_skip_entry") && entry.log_id.index().is_multiple_of(50) => {}
                EntryPayload::Normal(cmd) => match unfence(cmd, entry.log_id.leader_id.term) {
                    None => applied.fenced_out = true,
                    Some(Command::CommitRestore { id, pairs }) => {
                        // The commit reads the staging: write what came before it first.
                        if let Some(before) = last_applied {
                            batch.put(Space::Meta, keys::APPLIED, to_json(&before)?);
                            self.storage.write(std::mem::take(&mut batch))?;
                        }
                        let complete = self.commit_restore(entry.log_id, id, pairs).await?;
                        applied.restore_incomplete = !complete;
                    }
                    Some(cmd) => {
                        applied.fenced_out =
                            !add_command(&mut batch, cmd, entry.log_id.leader_id.term);
                    }
                },
                EntryPayload::Membership(m) => {
                    let stored = StoredMembership::new(Some(entry.log_id), m);
                    batch.put(Space::Meta, keys::MEMBERSHIP, to_json(&stored)?);
                }
            }
            last_applied = Some(entry.log_id);
            responders.extend(responder.map(|r| (r, applied)));
        }
        let Some(last_applied) = last_applied else {
            return Ok(());
        };
        batch.put(Space::Meta, keys::APPLIED, to_json(&last_applied)?);
        self.storage.write(batch)?;
        for (responder, applied) in responders {
            responder.send(applied);
        }
        if let Some(started) = started {
            self.stats.applied(started.elapsed(), count);
        }
        Ok(())
    }

    async fn get_snapshot_builder(&mut self) -> SnapshotBuilder {
        SnapshotBuilder {
            storage: self.storage.clone(),
            stats: self.stats.clone(),
            captured: Some(self.capture()),
        }
    }

    /// Replace `Space::Data` with the snapshot's pairs and record its applied state, durably.
    async fn install_snapshot(
        &mut self,
        meta: &SnapshotMeta,
        data: SnapshotData,
    ) -> io::Result<()> {
        let mut pairs = snapshot::decode(&data)?;
        if mutant("snapshot_drops_last_pair") {
            pairs.pop();
        }
        let mut batch = WriteBatch::new();
        batch.delete_range(Space::Data, Vec::new(), None);
        for (key, value) in pairs {
            batch.put(Space::Data, key, value);
        }
        match &meta.last_log_id {
            Some(log_id) => batch.put(Space::Meta, keys::APPLIED, to_json(log_id)?),
            None => batch.delete(Space::Meta, keys::APPLIED),
        }
        batch.put(
            Space::Meta,
            keys::MEMBERSHIP,
            to_json(&meta.last_membership)?,
        );
        add_snapshot(&mut batch, meta)?;
        {
            let _meta = self.storage.snapshot_meta_lock();
            self.storage.write(batch)?;
        }
        self.storage.sync().await?;
        self.stats.snapshot_installed();
        Ok(())
    }

    /// The current snapshot's metadata with the data as it is now. The metadata is read again
    /// after the data: if a restore commit replaced both in between, the pair would not match
    /// (data after the commit, applied index before it), so it is read again.
    async fn get_current_snapshot(&mut self) -> io::Result<Option<Snapshot>> {
        loop {
            let Some(meta) = self.storage.meta::<SnapshotMeta>(keys::SNAPSHOT_META)? else {
                return Ok(None);
            };
            if !self.started.load(Ordering::Acquire) && meta.last_log_id <= self.applied()?.0 {
                // Metadata only: openraft installs a snapshot at start only if it is newer
                // than the applied state, which this one is not. The empty bytes would fail to
                // decode, so they can never be installed by mistake.
                let snapshot = SnapshotData::new();
                return Ok(Some(Snapshot { meta, snapshot }));
            }
            let snapshot = self.data_now()?;
            let after: Option<SnapshotMeta> = self.storage.meta(keys::SNAPSHOT_META)?;
            if after.is_some_and(|after| after.last_log_id == meta.last_log_id) {
                return Ok(Some(Snapshot { meta, snapshot }));
            }
        }
    }
}

impl RaftSnapshotBuilder<TypeConfig> for SnapshotBuilder {
    type SnapshotData = SnapshotData;

    /// Store the captured metadata, synced, as the current snapshot's (openraft purges the log
    /// it covers afterwards, so it must be durable first). The returned bytes are empty (and
    /// would fail to decode): openraft keeps only the metadata of a build, and asks
    /// `get_current_snapshot` for the bytes it sends, so none are read here.
    async fn build_snapshot(&mut self) -> io::Result<Snapshot> {
        let meta = self
            .captured
            .take()
            .ok_or_else(|| io::Error::other("snapshot builder used twice"))??;
        // An installed snapshot or a restore commit may have overtaken this build; never
        // replace its record by an older one.
        let replaced = {
            let _meta = self.storage.snapshot_meta_lock();
            let current: Option<SnapshotMeta> = self.storage.meta(keys::SNAPSHOT_META)?;
            let older = current.is_none_or(|c| c.last_log_id <= meta.last_log_id);
            if older {
                let mut batch = WriteBatch::new();
                add_snapshot(&mut batch, &meta)?;
                self.storage.write(batch)?;
            }
            older
        };
        if replaced {
            self.storage.sync().await?;
            self.stats.snapshot_built();
        }
        Ok(Snapshot {
            meta,
            snapshot: SnapshotData::new(),
        })
    }
}

#[cfg(test)]
mod tests;
