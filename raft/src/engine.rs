//! The storage [`Engine`]: an ordered byte store with three key spaces, written in atomic
//! batches. Raft's log, its metadata and the replicated data all live in one engine, so a batch
//! that applies commands and records how far it applied is one atomic write.
//!
//! Implementations: [`RocksEngine`](crate::RocksEngine) (production, not under madsim) and
//! [`MemEngine`](crate::MemEngine) (simulation and tests, with crash semantics). Both pass
//! [`engine_suite`](crate::engine_suite).

#[cfg(not(madsim))]
pub mod rocks;

pub mod memory;
pub mod suite;

/// A key space. Keys in different spaces never collide; scans never cross spaces.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Space {
    /// Raft log entries, keyed by big-endian index.
    Log,
    /// Raft metadata: vote, committed, purge point, applied state, the current snapshot.
    Meta,
    /// The replicated key/value data: storage path → ciphertext.
    Data,
}

impl Space {
    /// Every space, in a fixed order.
    pub const ALL: [Space; 3] = [Space::Log, Space::Meta, Space::Data];

    /// A stable name (the RocksDB column family).
    pub fn name(self) -> &'static str {
        match self {
            Space::Log => "log",
            Space::Meta => "meta",
            Space::Data => "data",
        }
    }

    /// Position in [`Space::ALL`].
    pub fn index(self) -> usize {
        match self {
            Space::Log => 0,
            Space::Meta => 1,
            Space::Data => 2,
        }
    }
}

/// One change inside a [`WriteBatch`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Op {
    /// Set `key` to `value`.
    Put {
        /// Target space.
        space: Space,
        /// Key bytes.
        key: Vec<u8>,
        /// Value bytes.
        value: Vec<u8>,
    },
    /// Remove `key` (no error when absent).
    Delete {
        /// Target space.
        space: Space,
        /// Key bytes.
        key: Vec<u8>,
    },
    /// Remove every key in `start..end`; `end: None` means to the end of the space.
    DeleteRange {
        /// Target space.
        space: Space,
        /// First key removed (inclusive).
        start: Vec<u8>,
        /// First key kept (exclusive), or `None` for no upper bound.
        end: Option<Vec<u8>>,
    },
}

/// Changes applied all-or-nothing, in order (a later op on the same key wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WriteBatch {
    ops: Vec<Op>,
}

impl WriteBatch {
    /// An empty batch.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add a put.
    pub fn put(&mut self, space: Space, key: impl Into<Vec<u8>>, value: impl Into<Vec<u8>>) {
        self.ops.push(Op::Put {
            space,
            key: key.into(),
            value: value.into(),
        });
    }

    /// Add a delete.
    pub fn delete(&mut self, space: Space, key: impl Into<Vec<u8>>) {
        self.ops.push(Op::Delete {
            space,
            key: key.into(),
        });
    }

    /// Add a range delete of `start..end` (`None`: to the end of the space).
    pub fn delete_range(&mut self, space: Space, start: impl Into<Vec<u8>>, end: Option<Vec<u8>>) {
        self.ops.push(Op::DeleteRange {
            space,
            start: start.into(),
            end,
        });
    }

    /// Number of ops.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// True when the batch holds no op.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// The ops, in order.
    pub fn ops(&self) -> &[Op] {
        &self.ops
    }

    /// Take the ops, in order.
    pub fn into_ops(self) -> Vec<Op> {
        self.ops
    }
}

/// A key/value pair as returned by scans.
pub type Pair = (Vec<u8>, Vec<u8>);

/// What an engine can fail with.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum EngineError {
    /// The backend (RocksDB, the file system) reported an error.
    #[error("storage backend: {0}")]
    Backend(String),
    /// Stored bytes could not be decoded: the store is damaged or from another format.
    #[error("corrupt storage: {0}")]
    Corrupt(String),
}

/// An ordered byte store with key spaces and atomic batches.
///
/// Methods are synchronous and short (a point read, one scan, one batch); callers that cannot
/// block an async worker run them through the runtime's `spawn_blocking`.
///
/// Durability contract: `write(batch, true)` returns only after the batch *and every earlier
/// batch* are durable, and so does `sync()` for every batch written before it. `write(batch,
/// false)` makes the batch visible at once but it may be lost
/// on a crash, together with later unsynced batches — never an earlier batch without a later one
/// (what survives a crash is always a prefix of the write order).
pub trait Engine: Send + Sync + 'static {
    /// The value at `key`, if any.
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError>;

    /// All pairs with `start <= key < end` (`end: None`: to the end of the space), ascending.
    fn scan(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
    ) -> Result<Vec<Pair>, EngineError> {
        self.scan_bytes(space, start, end, usize::MAX)
    }

    /// The first pairs of [`Engine::scan`], stopping before the pair whose value would bring
    /// the values' total past `max_bytes`; the first pair is returned whatever its size. A
    /// reader that sends what it reads (Raft replication) is bounded by this, and the engine
    /// reads no further than it returns.
    fn scan_bytes(
        &self,
        space: Space,
        start: &[u8],
        end: Option<&[u8]>,
        max_bytes: usize,
    ) -> Result<Vec<Pair>, EngineError>;

    /// The pair with the greatest key in `space`, if any.
    fn last(&self, space: Space) -> Result<Option<Pair>, EngineError>;

    /// Apply `batch` atomically; with `sync`, durably (see the trait docs).
    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), EngineError>;

    /// Make every batch written so far durable (one fsync covers any number of them: the Raft
    /// log's group commit).
    fn sync(&self) -> Result<(), EngineError>;

    /// How long one sync (or synced write) takes before it starts, in simulated time: the
    /// simulation's slow disks (see [`MemEngine`](crate::MemEngine)). Zero for a real disk,
    /// whose fsync takes its own time inside [`Engine::sync`].
    fn sync_latency(&self) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// All pairs whose key starts with `prefix`, ascending.
    fn scan_prefix(&self, space: Space, prefix: &[u8]) -> Result<Vec<Pair>, EngineError> {
        let end = prefix_end(prefix);
        self.scan(space, prefix, end.as_deref())
    }
}

/// The leading `pairs` whose values add up to at most `max_bytes`, and at least the first one;
/// `pairs` is not read past the last one taken. For the engines' [`Engine::scan_bytes`].
pub(crate) fn take_bytes(
    pairs: impl Iterator<Item = Result<Pair, EngineError>>,
    max_bytes: usize,
) -> Result<Vec<Pair>, EngineError> {
    let mut taken = Vec::new();
    let mut total = 0usize;
    for pair in pairs {
        let pair = pair?;
        total = total.saturating_add(pair.1.len());
        if total > max_bytes && !taken.is_empty() {
            break;
        }
        taken.push(pair);
    }
    Ok(taken)
}

/// The smallest key greater than every key starting with `prefix`, or `None` when no such key
/// exists (the prefix is empty or all `0xFF`).
pub fn prefix_end(prefix: &[u8]) -> Option<Vec<u8>> {
    let mut end = prefix.to_vec();
    while let Some(last) = end.pop() {
        if last < u8::MAX {
            end.push(last + 1);
            return Some(end);
        }
    }
    None
}
