//! [`MemEngine`]: the in-memory engine with crash semantics, for simulation and tests.
//!
//! It models a disk with a volatile write cache. Every write is visible at once; a `sync` write
//! also makes every earlier write durable. [`MemEngine::crash`] throws away whatever was not yet
//! durable, as killing the machine would. Engines opened with [`MemEngine::open`] live in a
//! process-global registry keyed by node id, outside any node's tasks, so a simulated node that
//! is killed and restarted finds its "disk" again.

use std::collections::BTreeMap;
use std::ops::Bound;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;

use super::{take_bytes, Engine, EngineError, Op, Pair, Space, WriteBatch};

type Tree = BTreeMap<Vec<u8>, Vec<u8>>;

/// One tree per [`Space`], indexed by [`Space::index`].
#[derive(Clone, Default)]
struct Trees([Tree; 3]);

impl Trees {
    fn tree(&self, space: Space) -> &Tree {
        &self.0[space.index()]
    }

    fn apply(&mut self, op: &Op) {
        match op {
            Op::Put { space, key, value } => {
                self.0[space.index()].insert(key.clone(), value.clone());
            }
            Op::Delete { space, key } => {
                self.0[space.index()].remove(key);
            }
            Op::DeleteRange { space, start, end } => {
                let tree = &mut self.0[space.index()];
                let mut tail = tree.split_off(start.as_slice());
                if let Some(end) = end {
                    let mut kept = tail.split_off(end.as_slice());
                    tree.append(&mut kept);
                }
                tail.clear();
            }
        }
    }
}

#[derive(Default)]
struct State {
    /// What reads see: durable state plus every unsynced batch.
    visible: Trees,
    /// What survives a crash.
    durable: Trees,
    /// Batches written without sync since the last sync, oldest first.
    unsynced: Vec<WriteBatch>,
}

impl State {
    /// Everything written so far survives a crash.
    fn make_durable(&mut self) {
        for op in self.unsynced.drain(..).flat_map(WriteBatch::into_ops) {
            self.durable.apply(&op);
        }
    }
}

/// In-memory [`Engine`]; see the module docs.
#[derive(Default)]
pub struct MemEngine {
    state: Mutex<State>,
    /// [`Engine::sync_latency`], in microseconds.
    sync_latency_us: AtomicU64,
}

static REGISTRY: Mutex<BTreeMap<u64, Arc<MemEngine>>> = Mutex::new(BTreeMap::new());

impl MemEngine {
    /// A fresh engine outside the registry (its contents die with it).
    pub fn new() -> Self {
        Self::default()
    }

    /// The engine of `node_id`, created empty on first use. It survives the node's restart.
    pub fn open(node_id: u64) -> Arc<MemEngine> {
        REGISTRY.lock().entry(node_id).or_default().clone()
    }

    /// Simulate a kill of `node_id`: drop every write that was not synced. Returns false when the
    /// node has no engine. Stop the node's tasks first; the engine stays in the registry.
    pub fn crash(node_id: u64) -> bool {
        let engine = REGISTRY.lock().get(&node_id).cloned();
        match engine {
            Some(engine) => {
                engine.crash_now();
                true
            }
            None => false,
        }
    }

    /// Simulate a kill of `node_id` that tears the tail: of the `n` unsynced batches, the first
    /// `keep(n)` (at most `n`) survive, the rest are lost. Returns `(lost, n)`, or `None` when
    /// the node has no engine. Stop the node's tasks first.
    pub fn crash_keeping(
        node_id: u64,
        keep: impl FnOnce(usize) -> usize,
    ) -> Option<(usize, usize)> {
        let engine = REGISTRY.lock().get(&node_id).cloned()?;
        let mut state = engine.state.lock();
        let n = state.unsynced.len();
        let kept = keep(n).min(n);
        let survivors: Vec<WriteBatch> = state.unsynced.drain(..kept).collect();
        for op in survivors.into_iter().flat_map(WriteBatch::into_ops) {
            state.durable.apply(&op);
        }
        state.unsynced.clear();
        state.visible = state.durable.clone();
        Some((n - kept, n))
    }

    /// Make every sync of `node_id`'s engine (created empty if new) take `latency` of
    /// (simulated) time before it starts: a slow disk.
    pub fn set_sync_latency(node_id: u64, latency: Duration) {
        let us = u64::try_from(latency.as_micros()).unwrap_or(u64::MAX);
        Self::open(node_id)
            .sync_latency_us
            .store(us, Ordering::Relaxed);
    }

    /// Forget `node_id`'s engine (its disk is wiped); the next `open` starts empty.
    pub fn remove(node_id: u64) {
        REGISTRY.lock().remove(&node_id);
    }

    /// Forget every registered engine: call between simulation runs in one process, whose node
    /// ids would otherwise find the previous run's disks.
    pub fn reset_registry() {
        REGISTRY.lock().clear();
    }

    /// Drop this engine's unsynced writes (see [`MemEngine::crash`]).
    pub fn crash_now(&self) {
        let mut state = self.state.lock();
        state.visible = state.durable.clone();
        state.unsynced.clear();
    }

    /// How many batches a crash would lose right now.
    pub fn unsynced_batches(&self) -> usize {
        self.state.lock().unsynced.len()
    }
}

impl Engine for MemEngine {
    fn get(&self, space: Space, key: &[u8]) -> Result<Option<Vec<u8>>, EngineError> {
        Ok(self.state.lock().visible.tree(space).get(key).cloned())
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
        let upper = end.map_or(Bound::Unbounded, Bound::Excluded);
        let state = self.state.lock();
        let range = state
            .visible
            .tree(space)
            .range::<[u8], _>((Bound::Included(start), upper));
        take_bytes(range.map(|(k, v)| Ok((k.clone(), v.clone()))), max_bytes)
    }

    fn last(&self, space: Space) -> Result<Option<Pair>, EngineError> {
        let state = self.state.lock();
        let last = state.visible.tree(space).last_key_value();
        Ok(last.map(|(k, v)| (k.clone(), v.clone())))
    }

    fn write(&self, batch: WriteBatch, sync: bool) -> Result<(), EngineError> {
        let mut state = self.state.lock();
        for op in batch.ops() {
            state.visible.apply(op);
        }
        state.unsynced.push(batch);
        if sync {
            state.make_durable();
        }
        Ok(())
    }

    fn sync(&self) -> Result<(), EngineError> {
        self.state.lock().make_durable();
        Ok(())
    }

    fn sync_latency(&self) -> Duration {
        Duration::from_micros(self.sync_latency_us.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mem_engine_passes_suite() {
        crate::engine_suite(&MemEngine::new());
    }

    #[test]
    fn crash_drops_only_unsynced_writes() {
        let engine = MemEngine::new();
        let mut first = WriteBatch::new();
        first.put(Space::Data, "a", "1");
        engine.write(first, false).unwrap();
        let mut synced = WriteBatch::new();
        synced.put(Space::Log, "b", "2");
        engine.write(synced, true).unwrap();
        let mut lost = WriteBatch::new();
        lost.put(Space::Data, "c", "3");
        lost.delete(Space::Data, "a");
        engine.write(lost, false).unwrap();
        assert_eq!(engine.get(Space::Data, b"c").unwrap(), Some(b"3".to_vec()));
        assert_eq!(engine.unsynced_batches(), 1);

        engine.crash_now();

        // The unsynced write before the sync survived with it; the one after it did not.
        assert_eq!(engine.get(Space::Data, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(engine.get(Space::Log, b"b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(engine.get(Space::Data, b"c").unwrap(), None);
        assert_eq!(engine.unsynced_batches(), 0);
    }

    #[test]
    fn sync_makes_every_earlier_write_survive_a_crash() {
        let engine = MemEngine::new();
        for (key, value) in [("a", "1"), ("b", "2")] {
            let mut batch = WriteBatch::new();
            batch.put(Space::Log, key, value);
            engine.write(batch, false).unwrap();
        }
        engine.sync().unwrap();
        let mut after = WriteBatch::new();
        after.put(Space::Log, "c", "3");
        engine.write(after, false).unwrap();

        engine.crash_now();

        assert_eq!(engine.get(Space::Log, b"a").unwrap(), Some(b"1".to_vec()));
        assert_eq!(engine.get(Space::Log, b"b").unwrap(), Some(b"2".to_vec()));
        assert_eq!(engine.get(Space::Log, b"c").unwrap(), None);
    }

    #[test]
    fn a_torn_crash_keeps_a_prefix_of_the_unsynced_batches() {
        const NODE: u64 = 0xC0FF_EE02;
        MemEngine::remove(NODE);
        let engine = MemEngine::open(NODE);
        for key in ["a", "b", "c"] {
            let mut batch = WriteBatch::new();
            batch.put(Space::Log, key, key);
            engine.write(batch, false).unwrap();
        }
        assert_eq!(MemEngine::crash_keeping(NODE, |n| n - 2), Some((2, 3)));
        assert_eq!(engine.get(Space::Log, b"a").unwrap(), Some(b"a".to_vec()));
        assert_eq!(engine.get(Space::Log, b"b").unwrap(), None);
        assert_eq!(engine.get(Space::Log, b"c").unwrap(), None);
        // What the torn crash kept is durable now: a second crash keeps it.
        assert!(MemEngine::crash(NODE));
        assert_eq!(engine.get(Space::Log, b"a").unwrap(), Some(b"a".to_vec()));
        MemEngine::set_sync_latency(NODE, Duration::from_millis(7));
        assert_eq!(engine.sync_latency(), Duration::from_millis(7));
        MemEngine::remove(NODE);
        assert_eq!(MemEngine::crash_keeping(NODE, |n| n), None);
    }

    #[test]
    fn registry_keeps_engine_across_reopen_and_crash() {
        const NODE: u64 = 0xC0FF_EE01;
        MemEngine::remove(NODE);
        let engine = MemEngine::open(NODE);
        let mut batch = WriteBatch::new();
        batch.put(Space::Meta, "vote", "v");
        engine.write(batch, true).unwrap();
        let mut batch = WriteBatch::new();
        batch.put(Space::Meta, "tmp", "t");
        engine.write(batch, false).unwrap();
        drop(engine);

        assert!(MemEngine::crash(NODE));
        let reopened = MemEngine::open(NODE);
        assert_eq!(
            reopened.get(Space::Meta, b"vote").unwrap(),
            Some(b"v".to_vec())
        );
        assert_eq!(reopened.get(Space::Meta, b"tmp").unwrap(), None);

        MemEngine::remove(NODE);
        assert!(!MemEngine::crash(NODE));
        assert_eq!(
            MemEngine::open(NODE).get(Space::Meta, b"vote").unwrap(),
            None
        );
        MemEngine::remove(NODE);
    }
}
