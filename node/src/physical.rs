//! Adapters from `coffer_barrier::Physical` to where the bytes really go: the replicated Raft
//! store (`storage "raft"`), or an in-memory map (`storage "inmem"`). Only ciphertext and the few
//! plain pre-unseal records (`core/seal-config`, `core/root-key`) pass through here.

use crate::metrics::Metrics;
use async_trait::async_trait;
use coffer_barrier::{Physical, PhysicalError};
use coffer_raft::{Command, RaftError, RaftHandle};
use std::cell::Cell;
use std::sync::Arc;

/// `Physical` over the Raft log: writes are proposed and wait until applied; reads come from the
/// local state machine.
pub struct RaftPhysical {
    raft: RaftHandle,
    metrics: Arc<Metrics>,
    /// The largest change one write may propose, in bytes of keys and values.
    max_entry_size: u64,
}

impl RaftPhysical {
    /// Wrap a started Raft handle; write latencies go to `metrics`. Entries are limited to
    /// [`crate::config::DEFAULT_MAX_ENTRY_SIZE`] until [`RaftPhysical::with_max_entry_size`].
    pub fn new(raft: RaftHandle, metrics: Arc<Metrics>) -> Self {
        RaftPhysical {
            raft,
            metrics,
            max_entry_size: crate::config::DEFAULT_MAX_ENTRY_SIZE,
        }
    }

    /// Refuse, before proposing, any write whose keys and values exceed `max` bytes (Vault's
    /// `max_entry_size`). One huge entry would hold up every write queued behind it and could
    /// outlast the election timeout while it replicates.
    pub fn with_max_entry_size(mut self, max: u64) -> Self {
        self.max_entry_size = max;
        self
    }

    fn check_size<'a>(
        &self,
        pairs: impl IntoIterator<Item = (&'a str, usize)>,
    ) -> Result<(), PhysicalError> {
        entry_size_check(pairs, self.max_entry_size)
    }

    async fn write(&self, cmd: Command) -> Result<(), PhysicalError> {
        if coffer_raft::mutant::mutant("write_acked_before_commit") && is_logical(&cmd) {
            // The planted bug: a mount's write is answered before Raft commits it.
            let raft = self.raft.clone();
            tokio::spawn(async move { raft.write(cmd).await });
            return Ok(());
        }
        let fenced = FENCE.try_with(|fence| (fence.term, fence.write_proposed()));
        let (cmd, proposal) = match fenced {
            Ok((term, proposal)) => {
                let cmd = Command::Fenced {
                    term,
                    cmd: Box::new(cmd),
                };
                (cmd, proposal)
            }
            Err(_) => (cmd, None),
        };
        let started = tokio::time::Instant::now();
        let result = self.raft.write(cmd).await.map_err(to_physical);
        self.metrics.observe_commit(started.elapsed());
        if let (Ok(()), Some(tick)) = (&result, proposal) {
            let _ = FENCE.try_with(|fence| fence.committed(tick));
        }
        result
    }
}

/// Whether `cmd` writes only under `logical/` (the mounts' data): where the
/// `write_acked_before_commit` mutant strikes, leaving the core's own records alone.
fn is_logical(cmd: &Command) -> bool {
    match cmd {
        Command::Put { key, .. } | Command::Delete { key } => key.starts_with("logical/"),
        Command::Batch(cmds) => !cmds.is_empty() && cmds.iter().all(is_logical),
        _ => false,
    }
}

tokio::task_local! {
    /// The fence of the request being served: its term and what it read and wrote.
    static FENCE: Fence;
}

/// One request's writes are fenced to the term of the active state it is served from, and its
/// storage reads and writes are ordered here, to tell whether a commit already vouches for
/// every read (see [`reads_vouched_for`]).
struct Fence {
    term: u64,
    /// Ticks once per read started and per write proposed.
    tick: Cell<u64>,
    reads_in_flight: Cell<u32>,
    /// The tick of the latest read started.
    last_read: Cell<u64>,
    /// The tick of the latest write that committed and was proposed with no read in flight.
    vouched: Cell<Option<u64>>,
}

impl Fence {
    fn new(term: u64) -> Self {
        Fence {
            term,
            tick: Cell::new(0),
            reads_in_flight: Cell::new(0),
            last_read: Cell::new(0),
            vouched: Cell::new(None),
        }
    }

    fn next_tick(&self) -> u64 {
        let tick = self.tick.get() + 1;
        self.tick.set(tick);
        tick
    }

    /// A write is being proposed: its tick, if it can vouch for the reads before it (none is
    /// still running, so each finished before the proposal).
    fn write_proposed(&self) -> Option<u64> {
        let tick = self.next_tick();
        (self.reads_in_flight.get() == 0).then_some(tick)
    }

    fn committed(&self, tick: u64) {
        self.vouched.set(self.vouched.get().max(Some(tick)));
    }
}

/// A storage read of the current request, from start to end.
struct Read;

impl Read {
    fn start() -> Read {
        let _ = FENCE.try_with(|fence| {
            let tick = fence.next_tick();
            fence.last_read.set(tick);
            fence.reads_in_flight.set(fence.reads_in_flight.get() + 1);
        });
        Read
    }
}

impl Drop for Read {
    fn drop(&mut self) {
        let _ = FENCE.try_with(|fence| {
            fence.reads_in_flight.set(fence.reads_in_flight.get() - 1);
        });
    }
}

/// Run `fut` (one request, from authentication to answer) with its writes fenced to `term`:
/// each is applied only if Raft commits it as an entry of that term. A request that read state
/// under one leadership can then never write under a later one — say, a KV v2 write that read
/// version 10 before a step-down and re-election, racing a write that read it after.
pub async fn fenced<F: std::future::Future>(term: u64, fut: F) -> F::Output {
    FENCE.scope(Fence::new(term), fut).await
}

/// The term the current request's writes are fenced to, if it runs inside [`fenced`].
pub fn fence_term() -> Option<u64> {
    FENCE.try_with(|fence| fence.term).ok()
}

/// Whether the current request's reads need no read index because a write of its own vouches
/// for them: one that was proposed after every read had finished and committed in the request's
/// term. Raft commits an entry of term T only while no later term has committed anything, so
/// each read, made before that proposal on the leader of T (whose state holds every entry of
/// earlier terms and every write it acknowledged), saw every write acknowledged before it. A
/// request with no such write (a read, a no-op delete, a refusal) must confirm its leadership
/// with a quorum before it answers. False outside [`fenced`].
pub fn reads_vouched_for() -> bool {
    FENCE
        .try_with(|fence| {
            fence
                .vouched
                .get()
                .is_some_and(|tick| tick > fence.last_read.get())
        })
        .unwrap_or(false)
}

/// The size of a change as Vault counts it (keys plus values, not the log's encoding, which
/// base64s values), refused when over `max`.
fn entry_size_check<'a>(
    pairs: impl IntoIterator<Item = (&'a str, usize)>,
    max: u64,
) -> Result<(), PhysicalError> {
    let size: u64 = pairs
        .into_iter()
        .map(|(key, value_len)| (key.len() + value_len) as u64)
        .sum();
    if size > max {
        return Err(PhysicalError::TooLarge { size, max });
    }
    Ok(())
}

fn to_physical(e: RaftError) -> PhysicalError {
    PhysicalError::Unavailable(e.to_string())
}

#[async_trait]
impl Physical for RaftPhysical {
    async fn get(&self, key: &str) -> Result<Option<Vec<u8>>, PhysicalError> {
        let _read = Read::start();
        self.raft.get(key).await.map_err(to_physical)
    }

    async fn put(&self, key: &str, value: Vec<u8>) -> Result<(), PhysicalError> {
        self.check_size([(key, value.len())])?;
        let cmd = Command::Put {
            key: key.to_string(),
            value,
        };
        self.write(cmd).await
    }

    /// One Raft entry for all the pairs: one commit round (and one fsync on each node) where
    /// separate puts would pay one each, and the pairs land together or not at all.
    async fn put_many(&self, pairs: Vec<(String, Vec<u8>)>) -> Result<(), PhysicalError> {
        self.check_size(pairs.iter().map(|(k, v)| (k.as_str(), v.len())))?;
        let puts = pairs
            .into_iter()
            .map(|(key, value)| Command::Put { key, value })
            .collect();
        self.write(Command::Batch(puts)).await
    }

    async fn delete(&self, key: &str) -> Result<(), PhysicalError> {
        let cmd = Command::Delete {
            key: key.to_string(),
        };
        self.write(cmd).await
    }

    async fn list(&self, prefix: &str) -> Result<Vec<String>, PhysicalError> {
        let _read = Read::start();
        self.raft.list(prefix).await.map_err(to_physical)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use coffer_raft::{MemEngine, RaftConfig};
    use std::time::Duration;

    async fn single_node() -> (RaftPhysical, RaftHandle) {
        let config = RaftConfig {
            heartbeat_ms: 50,
            election_timeout_min_ms: 150,
            election_timeout_max_ms: 300,
            ..RaftConfig::default()
        };
        let raft = RaftHandle::start(config, Arc::new(MemEngine::new()))
            .await
            .unwrap();
        raft.bootstrap_single().await.unwrap();
        raft.wait_leader(Duration::from_secs(10)).await.unwrap();
        let physical = RaftPhysical::new(raft.clone(), Arc::new(Metrics::default()));
        (physical, raft)
    }

    #[tokio::test]
    async fn raft_physical_passes_the_physical_suite() {
        let (physical, raft) = single_node().await;
        coffer_barrier::run_physical_suite(&physical).await;
        raft.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn only_a_commit_after_every_read_vouches_for_them() {
        let (physical, raft) = single_node().await;
        let term = raft.metrics().current_term;
        let p = &physical;

        let read_then_write = fenced(term, async {
            p.get("a").await.unwrap();
            p.put("a", b"1".to_vec()).await.unwrap();
            reads_vouched_for()
        });
        assert!(read_then_write.await);

        let write_then_read = fenced(term, async {
            p.put("a", b"2".to_vec()).await.unwrap();
            p.list("").await.unwrap();
            reads_vouched_for()
        });
        assert!(!write_then_read.await);

        let read_only = fenced(term, async {
            p.get("a").await.unwrap();
            reads_vouched_for()
        });
        assert!(!read_only.await);

        // A write fenced out (its term is not the one it commits in) proves nothing.
        let stale_term = fenced(term + 1, async {
            p.get("a").await.unwrap();
            assert!(p.put("a", b"3".to_vec()).await.is_err());
            reads_vouched_for()
        });
        assert!(!stale_term.await);
        assert_eq!(p.get("a").await.unwrap().as_deref(), Some(&b"2"[..]));

        // A read still running when the write is proposed may see a later state.
        let overlapping = fenced(term, async {
            let _read = Read::start();
            p.put("a", b"4".to_vec()).await.unwrap();
            reads_vouched_for()
        });
        assert!(!overlapping.await);

        p.put("b", b"5".to_vec()).await.unwrap();
        assert!(
            !reads_vouched_for(),
            "outside a request nothing is vouched for"
        );
        raft.shutdown().await.unwrap();
    }

    #[test]
    fn entry_size_counts_keys_and_values_and_refuses_only_above_the_limit() {
        assert!(entry_size_check([("ab", 8)], 10).is_ok());
        assert!(entry_size_check([("ab", 4), ("cd", 2)], 10).is_ok());
        let refused = entry_size_check([("ab", 4), ("cd", 3)], 10).unwrap_err();
        assert!(matches!(
            refused,
            PhysicalError::TooLarge { size: 11, max: 10 }
        ));
        assert_eq!(
            refused.to_string(),
            "put failed due to value being too large; got 11 bytes, max: 10 bytes"
        );
    }

    #[tokio::test]
    async fn an_oversized_write_is_refused_before_it_is_proposed() {
        let (physical, raft) = single_node().await;
        let physical = physical.with_max_entry_size(1024);
        let before = raft.metrics().last_log_index;
        let too_big = physical.put("k", vec![0; 1024]).await.unwrap_err();
        assert!(matches!(too_big, PhysicalError::TooLarge { .. }));
        let batch = vec![
            ("a".to_string(), vec![0; 600]),
            ("b".to_string(), vec![0; 600]),
        ];
        assert!(physical.put_many(batch).await.is_err());
        assert_eq!(
            raft.metrics().last_log_index,
            before,
            "nothing was proposed"
        );
        assert_eq!(physical.get("k").await.unwrap(), None);
        physical.put("k", vec![0; 1000]).await.unwrap();
        raft.shutdown().await.unwrap();
    }

    #[tokio::test]
    async fn put_many_is_one_raft_entry() {
        let (physical, raft) = single_node().await;
        let before = raft.metrics().last_log_index.unwrap();
        let pairs = vec![
            ("a".to_string(), b"1".to_vec()),
            ("b/c".to_string(), b"2".to_vec()),
        ];
        physical.put_many(pairs).await.unwrap();
        assert_eq!(raft.metrics().last_log_index, Some(before + 1));
        assert_eq!(physical.get("a").await.unwrap().as_deref(), Some(&b"1"[..]));
        assert_eq!(
            physical.get("b/c").await.unwrap().as_deref(),
            Some(&b"2"[..])
        );
        raft.shutdown().await.unwrap();
    }
}
