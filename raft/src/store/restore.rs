//! Snapshot restores in pieces: the staging area and what committing it does.
//!
//! A restore of any size must not travel as one log entry: one entry of 100 MB holds up every
//! write queued behind it and outlasts the election timeout while it replicates. So
//! [`RaftHandle::restore`](crate::RaftHandle::restore) sends the pairs as
//! [`Command::StageRestore`](crate::Command::StageRestore) chunks, each under the entry limit,
//! and then one [`Command::CommitRestore`](crate::Command::CommitRestore).
//!
//! # Layout
//!
//! Staged pairs live in `Space::Data` under keys that begin with the byte `0xFF`, followed by
//! the restore id (8 bytes, big-endian) and the storage path. A storage path is UTF-8, which
//! never contains `0xFF`, so staged keys cannot collide with data and sort after all of it:
//! reads of data (get, list, export) stop at [`DATA_END`]. Keeping staging in `Space::Data`
//! means snapshots carry it, so a follower that installs a snapshot taken halfway through a
//! restore still holds every chunk when the commit reaches it.
//!
//! # Why the commit stays correct under fuzzy snapshots
//!
//! Every other command is a blind write, so replaying entries onto a snapshot that already
//! holds some of them is harmless (see [`super::StateMachine`]). A commit is not blind: it
//! reads the staging area and empties it, so replaying entries from before a commit onto data
//! from after it would be wrong (a write the restore wiped would come back). The state machine
//! therefore records the commit's log id as the current snapshot's, in the same batch as the
//! commit itself: from then on no snapshot claims an applied index below the commit while its
//! bytes already show the restored data.

use std::io;

use crate::engine::{Engine, Space, WriteBatch};

/// The first key after every data key: staged keys start here.
pub const DATA_END: &[u8] = &[0xFF];

/// The staging key of `path` in restore `id`.
pub(crate) fn staged_key(id: u64, path: &str) -> Vec<u8> {
    let mut key = staging_prefix(id);
    key.extend_from_slice(path.as_bytes());
    key
}

fn staging_prefix(id: u64) -> Vec<u8> {
    let mut key = DATA_END.to_vec();
    key.extend_from_slice(&id.to_be_bytes());
    key
}

/// Add the staging of `pairs` for restore `id` to `batch`.
pub(crate) fn add_stage(batch: &mut WriteBatch, id: u64, pairs: Vec<(String, Vec<u8>)>) {
    for (path, value) in pairs {
        batch.put(Space::Data, staged_key(id, &path), value);
    }
}

/// Add the removal of restore `id`'s staging to `batch`.
pub(crate) fn add_abort(batch: &mut WriteBatch, id: u64) {
    let start = staging_prefix(id);
    let end = crate::engine::prefix_end(&start);
    batch.delete_range(Space::Data, start, end);
}

/// Add the commit of restore `id` to `batch`, reading its staging from `engine` (which must
/// already hold every earlier entry's effect). Returns false, leaving the data alone, when the
/// staging does not hold exactly `expected` pairs. Every staging area is emptied either way.
pub(crate) fn add_commit(
    engine: &dyn Engine,
    batch: &mut WriteBatch,
    id: u64,
    expected: u64,
) -> io::Result<bool> {
    let prefix = staging_prefix(id);
    let staged = engine
        .scan_prefix(Space::Data, &prefix)
        .map_err(super::io_err)?;
    let complete = staged.len() as u64 == expected;
    if complete {
        batch.delete_range(Space::Data, Vec::new(), Some(DATA_END.to_vec()));
        for (key, value) in staged {
            batch.put(Space::Data, key[prefix.len()..].to_vec(), value);
        }
    }
    batch.delete_range(Space::Data, DATA_END.to_vec(), None);
    Ok(complete)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemEngine;

    fn write(engine: &MemEngine, batch: WriteBatch) {
        engine.write(batch, false).unwrap();
    }

    #[test]
    fn staged_keys_sort_after_every_storage_path() {
        let key = staged_key(7, "a");
        assert!(key.as_slice() > "\u{10FFFF}/last".as_bytes());
        assert!(key.as_slice() >= DATA_END);
        assert!(String::from_utf8(key).is_err(), "never a storage path");
    }

    #[test]
    fn commit_replaces_the_data_only_when_every_pair_is_staged() {
        let engine = MemEngine::new();
        let mut batch = WriteBatch::new();
        batch.put(Space::Data, b"old".to_vec(), b"1".to_vec());
        add_stage(&mut batch, 1, vec![("a".into(), b"A".to_vec())]);
        add_stage(&mut batch, 1, vec![("b".into(), b"B".to_vec())]);
        add_stage(&mut batch, 2, vec![("z".into(), b"Z".to_vec())]);
        write(&engine, batch);

        // Expecting three pairs where two are staged: nothing replaced, staging emptied.
        let mut batch = WriteBatch::new();
        assert!(!add_commit(&engine, &mut batch, 1, 3).unwrap());
        write(&engine, batch);
        let all = engine.scan(Space::Data, b"", None).unwrap();
        assert_eq!(all, vec![(b"old".to_vec(), b"1".to_vec())]);

        let mut batch = WriteBatch::new();
        add_stage(&mut batch, 1, vec![("a".into(), b"A".to_vec())]);
        add_stage(&mut batch, 1, vec![("b".into(), b"B".to_vec())]);
        add_stage(&mut batch, 2, vec![("z".into(), b"Z".to_vec())]);
        write(&engine, batch);
        let mut batch = WriteBatch::new();
        assert!(add_commit(&engine, &mut batch, 1, 2).unwrap());
        write(&engine, batch);
        let all = engine.scan(Space::Data, b"", None).unwrap();
        assert_eq!(
            all,
            vec![
                (b"a".to_vec(), b"A".to_vec()),
                (b"b".to_vec(), b"B".to_vec())
            ],
            "restored, and restore 2's staging is gone too"
        );
    }

    #[test]
    fn abort_drops_only_its_own_staging() {
        let engine = MemEngine::new();
        let mut batch = WriteBatch::new();
        add_stage(&mut batch, 1, vec![("a".into(), b"A".to_vec())]);
        add_stage(&mut batch, 2, vec![("a".into(), b"A".to_vec())]);
        add_abort(&mut batch, 1);
        write(&engine, batch);
        let left = engine.scan(Space::Data, b"", None).unwrap();
        assert_eq!(left, vec![(staged_key(2, "a"), b"A".to_vec())]);
    }
}
