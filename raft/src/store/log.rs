//! [`LogStore`]: openraft's `RaftLogStorage` and `RaftLogReader` over `Space::Log`.

use std::fmt::Debug;
use std::io;
use std::ops::{Bound, RangeBounds};

use openraft::storage::{IOFlushed, RaftLogStorage};
use openraft::{LogState, OptionalSend, RaftLogReader};

use super::flush::Flusher;
use super::{from_json, io_err, keys, log_key, to_json, Storage};
use crate::engine::{Space, WriteBatch};
use crate::types::{Entry, LogId, TypeConfig, Vote};

/// The Raft log, the vote and the committed pointer. Cloning shares the same engine and the same
/// [`Flusher`].
#[derive(Clone)]
pub struct LogStore {
    storage: Storage,
    flusher: Flusher,
}

impl LogStore {
    /// Must be called inside the runtime: it starts the log's flushing task.
    pub(crate) fn new(storage: Storage) -> Self {
        let flusher = Flusher::start(storage.clone());
        LogStore { storage, flusher }
    }

    /// The entries in `range`, stopping before the one that would bring their encoded total
    /// past `max_bytes` (at least one; see [`crate::Engine::scan_bytes`]).
    fn entries(&self, range: &impl RangeBounds<u64>, max_bytes: usize) -> io::Result<Vec<Entry>> {
        let (start, end) = key_range(range);
        let end = end.as_ref().map(|e| &e[..]);
        let pairs = self
            .storage
            .engine()
            .scan_bytes(Space::Log, &start, end, max_bytes);
        pairs
            .map_err(io_err)?
            .iter()
            .map(|(_, v)| from_json(v))
            .collect()
    }

    fn last_entry_id(&self) -> io::Result<Option<LogId>> {
        let last = self.storage.engine().last(Space::Log).map_err(io_err)?;
        let entry = last.map(|(_, v)| from_json::<Entry>(&v)).transpose()?;
        Ok(entry.map(|e| e.log_id))
    }
}

/// The encoded entries one replication request carries at most (more only when a single entry
/// is larger). Stored entries are the JSON the transport sends, so this bounds the message: far
/// below [`MESSAGE_SIZE_MAX_BYTES`](crate::transport::MESSAGE_SIZE_MAX_BYTES), and small enough
/// to cross loopback or a LAN and be synced well within an append's deadline. Batches of small
/// entries (hundreds of bytes each) are bounded by openraft's count long before this.
pub const REPLICATION_PAYLOAD_BYTES: usize = 8 * 1024 * 1024;

/// `range` as `start..end` keys of `Space::Log` (`end: None`: unbounded).
fn key_range(range: &impl RangeBounds<u64>) -> ([u8; 8], Option<[u8; 8]>) {
    let start = match range.start_bound() {
        Bound::Included(i) => *i,
        Bound::Excluded(i) => i.saturating_add(1),
        Bound::Unbounded => 0,
    };
    let end = match range.end_bound() {
        Bound::Included(i) => i.checked_add(1),
        Bound::Excluded(i) => Some(*i),
        Bound::Unbounded => None,
    };
    (log_key(start), end.map(log_key))
}

impl RaftLogReader<TypeConfig> for LogStore {
    async fn try_get_log_entries<RB: RangeBounds<u64> + Clone + Debug + OptionalSend>(
        &mut self,
        range: RB,
    ) -> io::Result<Vec<Entry>> {
        self.entries(&range, usize::MAX)
    }

    /// Replication reads through here: as many entries of `start..end` as fit in
    /// [`REPLICATION_PAYLOAD_BYTES`], at least one. openraft bounds a payload only by a count
    /// (`max_payload_entries`), so a follower that fell behind on large entries would be sent
    /// hundreds of megabytes in one request, over the transport's message limit and its
    /// deadline, again at every retry, and would never catch up.
    async fn limited_get_log_entries(&mut self, start: u64, end: u64) -> io::Result<Vec<Entry>> {
        self.entries(&(start..end), REPLICATION_PAYLOAD_BYTES)
    }

    async fn read_vote(&mut self) -> io::Result<Option<Vote>> {
        self.storage.meta(keys::VOTE)
    }
}

impl RaftLogStorage<TypeConfig> for LogStore {
    type LogReader = LogStore;

    async fn get_log_state(&mut self) -> io::Result<LogState<TypeConfig>> {
        let last_purged_log_id: Option<LogId> = self.storage.meta(keys::LAST_PURGED)?;
        let last_log_id = self.last_entry_id()?.or(last_purged_log_id);
        Ok(LogState {
            last_purged_log_id,
            last_log_id,
        })
    }

    async fn get_log_reader(&mut self) -> LogStore {
        self.clone()
    }

    async fn save_vote(&mut self, vote: &Vote) -> io::Result<()> {
        let mut batch = WriteBatch::new();
        batch.put(Space::Meta, keys::VOTE, to_json(vote)?);
        self.storage.write_synced(batch).await
    }

    /// Saved without sync: losing it only means re-applying from the snapshot on restart.
    async fn save_committed(&mut self, committed: Option<LogId>) -> io::Result<()> {
        let mut batch = WriteBatch::new();
        match committed {
            Some(log_id) => batch.put(Space::Meta, keys::COMMITTED, to_json(&log_id)?),
            None => batch.delete(Space::Meta, keys::COMMITTED),
        }
        self.storage.write(batch)
    }

    async fn read_committed(&mut self) -> io::Result<Option<LogId>> {
        self.storage.meta(keys::COMMITTED)
    }

    /// The entries are readable when this returns and durable (synced) before the callback
    /// fires, which the [`Flusher`] does after its next sync; nothing is acknowledged earlier.
    async fn append<I>(&mut self, entries: I, callback: IOFlushed<TypeConfig>) -> io::Result<()>
    where
        I: IntoIterator<Item = Entry> + OptionalSend,
        I::IntoIter: OptionalSend,
    {
        let mut batch = WriteBatch::new();
        for entry in entries {
            batch.put(Space::Log, log_key(entry.log_id.index()), to_json(&entry)?);
        }
        self.storage.write(batch)?;
        self.flusher.after_next_sync(callback)
    }

    async fn truncate_after(&mut self, last_log_id: Option<LogId>) -> io::Result<()> {
        let first_removed = last_log_id.map_or(0, |id| id.index() + 1);
        let mut batch = WriteBatch::new();
        batch.delete_range(Space::Log, log_key(first_removed), None);
        self.storage.write_synced(batch).await
    }

    /// Removes entries up to `log_id` and records it, in one batch; not synced, since losing it
    /// only brings back entries that the snapshot already covers.
    async fn purge(&mut self, log_id: LogId) -> io::Result<()> {
        let end = log_id.index().checked_add(1).map(|i| log_key(i).to_vec());
        let mut batch = WriteBatch::new();
        batch.delete_range(Space::Log, log_key(0), end);
        batch.put(Space::Meta, keys::LAST_PURGED, to_json(&log_id)?);
        self.storage.write(batch)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use openraft::impls::leader_id_adv::LeaderId;
    use openraft::{EntryPayload, RaftLogReader};

    use super::{LogStore, REPLICATION_PAYLOAD_BYTES};
    use crate::engine::{Engine, Space, WriteBatch};
    use crate::store::{log_key, to_json, Storage};
    use crate::types::{Command, Entry, LogId};
    use crate::MemEngine;

    /// A log of entries `1..=sizes.len()`, entry `i` holding a value of `sizes[i - 1]` bytes.
    fn log_of(sizes: &[usize]) -> LogStore {
        let engine: Arc<dyn Engine> = Arc::new(MemEngine::new());
        let mut batch = WriteBatch::new();
        for (index, size) in (1..).zip(sizes) {
            let entry = Entry {
                log_id: LogId::new(
                    LeaderId {
                        term: 1,
                        node_id: 1,
                    },
                    index,
                ),
                payload: EntryPayload::Normal(Command::Put {
                    key: format!("k{index}"),
                    value: vec![7; *size],
                }),
            };
            batch.put(Space::Log, log_key(index), to_json(&entry).unwrap());
        }
        engine.write(batch, true).unwrap();
        LogStore::new(Storage::new(engine, Arc::new(())))
    }

    async fn limited(log: &mut LogStore, start: u64, end: u64) -> Vec<u64> {
        let entries = log.limited_get_log_entries(start, end).await.unwrap();
        entries.iter().map(|e| e.log_id.index()).collect()
    }

    #[tokio::test]
    async fn a_replication_read_stops_at_the_byte_budget_but_never_returns_nothing() {
        // Base64 makes each stored entry a third larger than its value.
        let third = REPLICATION_PAYLOAD_BYTES / 3;
        let mut log = log_of(&[third, third, third, 2 * REPLICATION_PAYLOAD_BYTES, 10]);
        assert_eq!(
            limited(&mut log, 1, 6).await,
            vec![1, 2],
            "a third entry is past the budget"
        );
        assert_eq!(
            limited(&mut log, 3, 6).await,
            vec![3],
            "the oversized 4th follows alone"
        );
        assert_eq!(
            limited(&mut log, 4, 6).await,
            vec![4],
            "one entry even past the budget"
        );
        assert_eq!(limited(&mut log, 5, 9).await, vec![5], "the end of the log");

        let mut small = log_of(&[100; 400]);
        assert_eq!(
            limited(&mut small, 1, 301).await.len(),
            300,
            "small entries: all asked"
        );
        let all = small.try_get_log_entries(1..401).await.unwrap();
        assert_eq!(all.len(), 400, "unlimited reads are unchanged");
    }
}
