//! [`RocksEngine`]: the production engine, one RocksDB column family per [`Space`], the WAL on.
//! A synced write is `WriteOptions::set_sync(true)`, an fsync of the WAL, which also covers
//! every earlier write. Compiled only outside simulation; RocksDB's own background threads
//! (flush, compaction) are the only threads involved and we start none.

use std::path::Path;

use rocksdb::{
    BlockBasedOptions, ColumnFamily, ColumnFamilyDescriptor, DBCompressionType, Direction,
    IteratorMode, Options, ReadOptions, WriteOptions, DB,
};

use super::{take_bytes, Engine, EngineError, Op, Pair, Space, WriteBatch};

/// RocksDB-backed [`Engine`].
pub struct RocksEngine {
    db: DB,
}

fn backend(e: rocksdb::Error) -> EngineError {
    EngineError::Backend(e.into_string())
}

fn options() -> Options {
    let mut opts = Options::default();
    opts.create_if_missing(true);
    opts.create_missing_column_families(true);
    // Snappy (RocksDB's default) is not compiled in; LZ4 is.
    opts.set_compression_type(DBCompressionType::Lz4);
    // Most point reads of a write miss (the metadata of a new key, an unset mount config): a
    // Bloom filter answers those without reading a data block of every table file.
    let mut table = BlockBasedOptions::default();
    table.set_bloom_filter(10.0, false);
    opts.set_block_based_table_factory(&table);
    // WAL records stay in RocksDB's buffer until a sync (`Engine::sync`, or a write with `sync`)
    // writes and fsyncs them: no write(2) per unsynced batch. A crash then loses the unsynced
    // batches, which is the `Engine` contract (and all a power loss would keep anyway).
    opts.set_manual_wal_flush(true);
    // A memtable flush writes ~64 MB per column family, on every node at once. Written back
    // 1 MB at a time, it no longer lands on the disk in one burst behind which each Raft log
    // fsync waits (hundreds of milliseconds of write latency when the first flush came).
    opts.set_bytes_per_sync(1 << 20);
    // A WAL file is deleted only once every column family with records in it has flushed them.
    // The meta family (vote, membership) takes a few bytes now and then and never fills its
    // memtable, so it kept every WAL file alive: at a million secrets the data directory held
    // 3.45x the data, and a restart replayed gigabytes of WAL for 20 s. Past this total, RocksDB
    // flushes the families holding the oldest WAL file, which bounds both the disk and a
    // restart's replay.
    opts.set_max_total_wal_size(MAX_TOTAL_WAL_BYTES);
    opts
}

/// The WAL kept on disk before RocksDB forces the flushes that let it delete old files.
const MAX_TOTAL_WAL_BYTES: u64 = 128 << 20;

impl RocksEngine {
    /// Open (creating if needed) the database in directory `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<RocksEngine, EngineError> {
        let opts = options();
        let cfs = Space::ALL.map(|space| ColumnFamilyDescriptor::new(space.name(), options()));
        let db = DB::open_cf_descriptors(&opts, path, cfs).map_err(backend)?;
        Ok(RocksEngine { db })
    }

    fn cf(&self, space: Space) -> Result<&ColumnFamily, EngineError> {
        let name = space.name();
        self.db
            .cf_handle(name)
            .ok_or_else(|| EngineError::Corrupt(format!("column family {name} missing")))
    }

    /// The key just after the greatest key `space` will hold once `pending` puts land: the
    /// exclusive end of an unbounded range delete (RocksDB range deletes need an end).
    fn end_after_last(&self, space: Space, pending: &[Vec<u8>; 3]) -> Result<Vec<u8>, EngineError> {
        let stored = self.last(space)?.map(|(k, _)| k).unwrap_or_default();
        let mut end = stored.max(pending[space.index()].clone());
        end.push(0);
        Ok(end)
    }

    fn to_rocks_batch(&self, batch: WriteBatch) -> Result<rocksdb::WriteBatch, EngineError> {
        let mut out = rocksdb::WriteBatch::default();
        // Greatest key put so far in this batch, per space.
        let mut pending: [Vec<u8>; 3] = Default::default();
        for op in batch.into_ops() {
            match op {
                Op::Put { space, key, value } => {
                    out.put_cf(self.cf(space)?, &key, value);
                    let max = &mut pending[space.index()];
                    if key > *max {
                        *max = key;
                    }
                }
                Op::Delete { space, key } => out.delete_cf(self.cf(space)?, key),
                Op::DeleteRange { space, start, end } => {
                    let end = match end {
                        Some(end) => end,
                        None => self.end_after_last(space, &pending)?,
                    };
                    if start < end {
                        out.delete_range_cf(self.cf(space)?, start, end);
                    }
                }
            }
        }
        Ok(out)
    }
}

impl Engine for RocksEngine {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        self.db.get_cf(self.cf(space)?, key).map_err(backend)
    }

    fn scan_bytes(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        max_bytes: usize,
    ) -> Result<Vec<Pair>, EngineError> {
        if end.is_some_and(|end| end <= start) {
            return Ok(Vec::new());
        }
        let mut read = ReadOptions::default();
        if let Some(end) = end {
            read.set_iterate_upper_bound(end);
        }
        let mode = IteratorMode::From(start, Direction::Forward);
        let iter = self.db.iterator_cf_opt(self.cf(space)?, read, mode);
        let pairs = iter.map(|item| {
            item.map(|(k, v)| (k.into_vec(), v.into_vec()))
                .map_err(backend)
        });
        take_bytes(pairs, max_bytes)
    }

    fn last(&self, space: Space) -> Result<Option<Pair>, EngineError> {
        let mut iter = self.db.iterator_cf(self.cf(space)?, IteratorMode::End);
        let last = iter.next().transpose().map_err(backend)?;
        Ok(last.map(|(k, v)| (k.into_vec(), v.into_vec())))
    }

    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), EngineError> {
        let batch = self.to_rocks_batch(batch)?;
        let mut opts = WriteOptions::default();
        opts.set_sync(sync);
        self.db.write_opt(batch, &opts).map_err(backend)
    }

    /// An fsync of the WAL, which every write (unsynced ones too) has already reached.
    fn sync(&self) -> Result<(), EngineError> {
        self.db.flush_wal(true).map_err(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rocks_engine_passes_suite() {
        let dir = tempfile::tempdir().unwrap();
        let engine = RocksEngine::open(dir.path()).unwrap();
        crate::engine_suite(&engine);
    }

    #[test]
    fn rocks_engine_survives_reopen() {
        let dir = tempfile::tempdir().unwrap();
        {
            let engine = RocksEngine::open(dir.path()).unwrap();
            let mut batch = WriteBatch::new();
            batch.put(Space::Data, "secret/a", "ciphertext");
            batch.put(Space::Log, 1u64.to_be_bytes(), "entry");
            engine.write(batch, true).unwrap();
        }
        let engine = RocksEngine::open(dir.path()).unwrap();
        assert_eq!(
            engine.get(Space::Data, b"secret/a").unwrap(),
            Some(b"ciphertext".to_vec())
        );
        assert_eq!(
            engine.last(Space::Log).unwrap().map(|(_, v)| v),
            Some(b"entry".to_vec())
        );
    }
}
